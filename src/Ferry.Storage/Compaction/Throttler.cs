using System.Diagnostics;

namespace Ferry.Storage.Compaction;

/// <summary>
/// Holds the cleaner to log.cleaner.io.max.bytes.per.second: after each chunk read or written, it sleeps for as
/// long as it is ahead of the rate. The cleaner has a thread of its own, so sleeping blocks nothing else.
/// </summary>
internal sealed class Throttler(double bytesPerSecond)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _bytes;

    public void Acquire(long bytes)
    {
        if (bytesPerSecond >= double.MaxValue || bytesPerSecond <= 0) return;
        _bytes += bytes;
        double ahead = _bytes / bytesPerSecond - _clock.Elapsed.TotalSeconds;
        if (ahead > 0.01) Thread.Sleep(TimeSpan.FromSeconds(ahead));
        // Measured over the last few seconds only, so that an idle hour does not buy a burst.
        if (_clock.Elapsed.TotalSeconds > 5)
        {
            _bytes = Math.Max(0, _bytes - bytesPerSecond * _clock.Elapsed.TotalSeconds);
            _clock.Restart();
        }
    }
}
