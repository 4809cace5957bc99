using System.Diagnostics;

namespace Ferry.Load.Common;

/// <summary>Publish-to-consume latencies from a monotonic clock shared by producer and consumer (same process).</summary>
internal sealed class LatencyRecorder
{
    private readonly List<double> _microseconds = new(1 << 20);
    private readonly Lock _lock = new();

    public static long Now => Stopwatch.GetTimestamp();

    public void Record(long sentTimestamp)
    {
        double us = Stopwatch.GetElapsedTime(sentTimestamp).TotalMicroseconds;
        lock (_lock) _microseconds.Add(us);
    }

    public (double P50, double P99, double P999, int Count) Percentiles()
    {
        lock (_lock)
        {
            if (_microseconds.Count == 0) return (double.NaN, double.NaN, double.NaN, 0);
            var sorted = _microseconds.ToArray();
            Array.Sort(sorted);
            double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
            return (At(0.50), At(0.99), At(0.999), sorted.Length);
        }
    }
}
