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
        shared.start(Job(task: task, context: context, tasks: tasks), workers: workers.count)
        shared.work()
        shared.finish()
    }
}

private struct Job {
    let task: WorkerPool.Task
    let context: UnsafeMutableRawPointer?
    let tasks: Int
}

/// The state the caller and the workers share. `generation` announces a job; `nextTask` hands
/// out task indices; `busy` counts workers still inside the job.
private final class Shared: @unchecked Sendable {
    private let generation = Atomic<Int>(0)
    private let nextTask = Atomic<Int>(0)
    private let busy = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let holding = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Set by the caller before `generation` moves, cleared after every worker left it.
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

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    deinit {
        pthread_cond_destroy(done)
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }

    func start(_ job: Job, workers: Int) {
        self.job = job
        nextTask.store(0, ordering: .relaxed)
        busy.store(workers, ordering: .relaxed)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Takes task indices until none are left.
    func work() {
        guard let job else { return }
        while true {
            let t = nextTask.add(1, ordering: .relaxed).oldValue
            if t >= job.tasks { return }
            job.task(job.context, t)
        }
    }

    /// Waits for every worker to leave the job, then forgets it.
    func finish() {
        var spins = 0
        while busy.load(ordering: .acquiring) > 0 && spins < Self.spins { Self.pause(&spins) }
        if busy.load(ordering: .acquiring) > 0 {
            pthread_mutex_lock(mutex)
            while busy.load(ordering: .acquiring) > 0 { pthread_cond_wait(done, mutex) }
            pthread_mutex_unlock(mutex)
        }
        job = nil
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

    /// A worker's life: wait for a job (spinning while the pool is held or briefly after a job,
    /// else asleep), work on it, report, repeat until stopped.
    func serve() {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed) {
                if holding.load(ordering: .relaxed) || spins < Self.spins {
                    Self.pause(&spins)
                    continue
                }
                pthread_mutex_lock(mutex)
                while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring)
                    && !holding.load(ordering: .acquiring)
                {
                    pthread_cond_wait(wake, mutex)
                }
                pthread_mutex_unlock(mutex)
                spins = 0
            }
            if generation.load(ordering: .acquiring) == seen { return }
            seen = generation.load(ordering: .acquiring)
            work()
            if busy.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }
}
