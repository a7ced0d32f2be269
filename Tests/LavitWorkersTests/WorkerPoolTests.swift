import Glibc
import CAllocationCounter
import LavitWorkers
import Synchronization
import Testing

@Suite struct WorkerPoolTests {
    /// Every task index runs exactly once per job, over many jobs back to back (workers spin or
    /// sleep between them), for pools of 1 to 4 threads and more tasks than threads.
    @Test(arguments: 1...4)
    func everyTaskRunsOnce(threads: Int) throws {
        let pool = try WorkerPool(threadCount: threads)
        #expect(pool.threadCount == threads)
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
        defer { counts.deallocate() }
        for job in 0..<500 {
            let tasks = job % 9
            counts.initialize(repeating: 0)
            pool.run(tasks: tasks, context: UnsafeMutableRawPointer(counts.baseAddress)) { context, t in
                context!.assumingMemoryBound(to: Int.self)[t] += 1
            }
            #expect(counts.prefix(tasks).allSatisfy { $0 == 1 } && counts.dropFirst(tasks).allSatisfy { $0 == 0 }, "job \(job)")
        }
    }

    /// Tasks really run on other threads at the same time: two tasks that each wait for the other
    /// to start finish only if both run at once.
    @Test func tasksRunConcurrently() throws {
        let pool = try WorkerPool(threadCount: 2)
        let started = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
        defer { started.deallocate() }
        started.initialize(to: Atomic(0))
        pool.run(tasks: 2, context: UnsafeMutableRawPointer(started)) { context, _ in
            let started = context!.assumingMemoryBound(to: Atomic<Int>.self)
            started.pointee.add(1, ordering: .relaxed)
            while started.pointee.load(ordering: .relaxed) < 2 {}
        }
        #expect(started.pointee.load(ordering: .relaxed) == 2)
    }

    /// Held, the pool still runs every task once (workers spin instead of sleeping), and after
    /// `release` it goes back to sleeping between jobs and still works.
    @Test func holdAndRelease() throws {
        let pool = try WorkerPool(threadCount: 3)
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        defer { counts.deallocate() }
        let task: WorkerPool.Task = { context, t in context!.assumingMemoryBound(to: Int.self)[t] += 1 }
        counts.initialize(repeating: 0)
        for round in 0..<3 {
            pool.hold()
            for _ in 0..<50 { pool.run(tasks: 8, context: UnsafeMutableRawPointer(counts.baseAddress), task) }
            pool.release()
            #expect(counts.allSatisfy { $0 == 50 * (2 * round + 1) })
            usleep(20_000)
            for _ in 0..<50 { pool.run(tasks: 8, context: UnsafeMutableRawPointer(counts.baseAddress), task) }
        }
        #expect(counts.allSatisfy { $0 == 300 })
    }

    /// Handing out a job allocates nothing on the calling thread.
    @Test func runAllocatesNothing() throws {
        let pool = try WorkerPool(threadCount: 2)
        let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0)
        let task: WorkerPool.Task = { context, t in context!.assumingMemoryBound(to: Int.self)[t] += t + 3 }
        pool.run(tasks: 2, context: UnsafeMutableRawPointer(sums.baseAddress), task)
        lavit_alloc_count_reset()
        for _ in 0..<100 { pool.run(tasks: 2, context: UnsafeMutableRawPointer(sums.baseAddress), task) }
        let allocations = lavit_alloc_count()
        #expect(allocations == 0)
        #expect(Array(sums) == [303, 404])
    }
}
