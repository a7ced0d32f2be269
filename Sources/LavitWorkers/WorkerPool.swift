#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import LavitSystem
import Synchronization

/// A fixed set of threads, started once, that runs one job at a time: `run(tasks:)` calls its task
/// function once for each task index, spread over the caller and the workers, and returns when all
/// are done. A job allocates nothing: it is a C function and a context pointer, not a closure,
/// because handing a closure to another thread makes Swift box its context on the heap. Workers
/// spin briefly for the next job before sleeping, because an inference hands out a few hundred
/// short jobs back to back and a wake-up from sleep costs more than most of them.
public final class WorkerPool: @unchecked Sendable {
    /// Threads that work on a job, the caller's included.
    public let threadCount: Int

    private let workers: [JoinableThread]
    private let shared: Shared

    /// Starts `threadCount - 1` workers (none for 1).
    public init(threadCount: Int, system: System = .live) throws(Errno) {
        precondition(threadCount >= 1, "a pool needs at least the calling thread")
        self.threadCount = threadCount
        let shared = Shared()
        self.shared = shared
        var workers: [JoinableThread] = []
        for _ in 1..<max(threadCount, 1) {
            do {
                workers.append(try system.startThread { shared.serve() })
            } catch {
                shared.stop()
                for worker in workers { worker.join() }
                throw error
            }
        }
        self.workers = workers
    }

    deinit {
        shared.stop()
        for worker in workers { worker.join() }
    }

    /// Keeps the workers awake until `release()`: a worker asleep is woken now, and none goes to
    /// sleep between jobs meanwhile. An inference holds the pool for its whole frame, so a worker
    /// asleep since the last frame wakes while the first, serial layers run, instead of when the
    /// first split layer waits for it.
    public func hold() {
        if !workers.isEmpty { shared.hold(true) }
    }

    /// Ends `hold()`: workers spin briefly after their last job, then sleep.
    public func release() {
        if !workers.isEmpty { shared.hold(false) }
    }

    /// What a job runs for task `t`, given the job's context.
    public typealias Task = @convention(c) (_ context: UnsafeMutableRawPointer?, _ t: Int) -> Void

    /// Calls `task(context, t)` for every `t` in `0..<tasks`, each exactly once, on any of the
    /// pool's threads; returns after the last. Not reentrant: one job at a time, from one thread.
    public func run(tasks: Int, context: UnsafeMutableRawPointer?, _ task: Task) {
        if workers.isEmpty || tasks <= 1 {
            for t in 0..<tasks { task(context, t) }
            return
        }
        precondition(tasks <= Shared.mostTasks, "a job of \(tasks) tasks; at most \(Shared.mostTasks)")
        shared.start(Job(task: task, context: context), tasks: tasks)
        shared.work()
        shared.finish(tasks: tasks)
    }
}

private struct Job {
    let task: WorkerPool.Task
    let context: UnsafeMutableRawPointer?
}

/// The state the caller and the workers share. `state` packs the job's generation, its task
/// count and the next task no thread has claimed, so a claim is of a task of the current job or
/// of none: a worker that wakes late, after the caller took every task itself, finds nothing
/// left, and the caller, which waits only for claimed tasks to finish (`completed`), never waits
/// for a worker to wake.
private final class Shared: @unchecked Sendable {
    static let mostTasks = 0xffff

    /// generation << 32 | tasks << 16 | next.
    private let state = Atomic<UInt64>(0)
    private let completed = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let holding = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Written by the caller before `state` announces the job; read after a successful claim,
    /// which the caller's wait for `completed` orders before the next job's write.
    private var job: Job?

    /// Spins before sleeping (each a CPU spin-wait hint, some tens of nanoseconds): long enough to
    /// bridge the serial kernels between two jobs of an inference, short enough not to burn a
    /// core between frames.
    private static let spins = 8192

    /// One spin; now and then it yields, so a pool with more threads than cores does not starve
    /// the thread everyone waits for.
    @inline(__always)
    private static func pause(_ spins: inout Int) {
        spins += 1
        lavit_cpu_relax()
        if spins % 256 == 0 { sched_yield() }
    }

    private static func generation(_ state: UInt64) -> UInt64 { state >> 32 }

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
    }

    func start(_ job: Job, tasks: Int) {
        self.job = job
        completed.store(0, ordering: .relaxed)
        let generation = (Self.generation(state.load(ordering: .relaxed)) &+ 1) & 0xffff_ffff
        pthread_mutex_lock(mutex)
        state.store(generation << 32 | UInt64(tasks) << 16, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// The next task of the current job, claimed; nil when every task is taken.
    private func claim() -> Int? {
        var current = state.load(ordering: .acquiring)
        while true {
            let (tasks, next) = ((current >> 16) & 0xffff, current & 0xffff)
            if next >= tasks { return nil }
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: current + 1, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            if exchanged { return Int(next) }
            current = original
        }
    }

    /// Runs claimed tasks until none is left.
    func work() {
        while let t = claim() {
            let job = self.job!
            job.task(job.context, t)
            completed.add(1, ordering: .releasing)
        }
    }

    /// Waits for the tasks other threads claimed to finish.
    func finish(tasks: Int) {
        var spins = 0
        while completed.load(ordering: .acquiring) < tasks { Self.pause(&spins) }
    }

    func hold(_ on: Bool) {
        pthread_mutex_lock(mutex)
        holding.store(on, ordering: .releasing)
        if on { pthread_cond_broadcast(wake) }
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping.store(true, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// A worker's life: wait for a new job (spinning while the pool is held or briefly after a
    /// job, else asleep), take what is left of it, repeat until stopped.
    func serve() {
        var seen: UInt64 = 0
        while true {
            var spins = 0
            while Self.generation(state.load(ordering: .acquiring)) == seen && !stopping.load(ordering: .relaxed) {
                if holding.load(ordering: .relaxed) || spins < Self.spins {
                    Self.pause(&spins)
                    continue
                }
                pthread_mutex_lock(mutex)
                while Self.generation(state.load(ordering: .acquiring)) == seen && !stopping.load(ordering: .acquiring)
                    && !holding.load(ordering: .acquiring)
                {
                    pthread_cond_wait(wake, mutex)
                }
                pthread_mutex_unlock(mutex)
                spins = 0
            }
            let generation = Self.generation(state.load(ordering: .acquiring))
            if generation == seen { return }
            seen = generation
            work()
        }
    }
}
