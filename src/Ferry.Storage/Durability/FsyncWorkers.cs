using System.Collections.Concurrent;

namespace Ferry.Storage.Durability;

/// <summary>
/// A few dedicated threads that run group-commit rounds for every log. fsync blocks its thread for as long
/// as the disk takes; on the thread pool that would stall request handling (a 2-core machine has two pool
/// threads to begin with, and the pool adds more only slowly), so it happens here instead.
/// </summary>
internal static class FsyncWorkers
{
    private static readonly ConcurrentQueue<GroupCommitter> Queue = new();
    // A kernel-style semaphore, not SemaphoreSlim: SemaphoreSlim spins (sched_yield) before it blocks, and an idle
    // worker spinning between rounds took 4-5% of a replicated node's CPU from the request threads on two cores.
    private static readonly Semaphore Ready = new(0, int.MaxValue);

    static FsyncWorkers()
    {
        // Several threads, so that fsyncs of different logs (different files) overlap at the device.
        int threads = Math.Clamp(Environment.ProcessorCount, 2, 4);
        for (int i = 0; i < threads; i++)
        {
            new Thread(Run) { IsBackground = true, Name = $"ferry-fsync-{i}" }.Start();
        }
    }

    public static void Schedule(GroupCommitter committer)
    {
        Queue.Enqueue(committer);
        Ready.Release();
    }

    private static void Run()
    {
        while (true)
        {
            Ready.WaitOne();
            if (Queue.TryDequeue(out var committer)) committer.RunRounds();
        }
    }
}
