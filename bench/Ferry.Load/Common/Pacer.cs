using System.Diagnostics;

namespace Ferry.Load.Common;

/// <summary>
/// Fixed-rate pacing by sleeping, never spinning: on a 2-core machine a spinning client would take a core
/// from the broker it measures. Linux sleeps of 1 ms let the sender fall up to a few messages behind its
/// schedule, which it then sends back to back, as a real application with a timer would.
/// </summary>
internal sealed class Pacer(int rate)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>How many messages the schedule allows now, given <paramref name="sent"/> so far; 0 → slept.</summary>
    public long Allowance(long sent)
    {
        if (rate <= 0) return long.MaxValue;
        long due = (long)(_clock.Elapsed.TotalSeconds * rate) + 1;
        if (sent < due) return due - sent;
        Thread.Sleep(1);
        return 0;
    }

    public async ValueTask<long> AllowanceAsync(long sent)
    {
        if (rate <= 0) return long.MaxValue;
        long due = (long)(_clock.Elapsed.TotalSeconds * rate) + 1;
        if (sent < due) return due - sent;
        await Task.Delay(1).ConfigureAwait(false);
        return 0;
    }
}
