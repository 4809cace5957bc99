using Ferry.Broker.Resources;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Broker.Tests.Resources;

public sealed class MemoryBudgetTests
{
    private const long Limit = 100L << 20;

    [Theory]
    [InlineData(0, 0)]
    [InlineData(Limit / 2, 0)]
    [InlineData(Limit, 0)]                        // at the limit: not over
    [InlineData(Limit + 1, 1)]                    // just over: the least throttle
    [InlineData(Limit + Limit / 100, 200)]        // 1 % over: a fifth of the full throttle (full at 5 %)
    [InlineData(Limit + Limit / 40, 500)]         // 2.5 % over: half
    [InlineData(Limit + Limit / 20, 1000)]        // 5 % over: the full second
    [InlineData(Limit * 3, 1000)]                 // far over: still bounded
    public void ThrottleTimeMs_ProportionalToHowFarOver_Bounded(long used, int expectedMs)
    {
        Assert.Equal(expectedMs, MemoryBudget.ThrottleTimeMs(used, Limit));
    }

    [Fact]
    public void ThrottleTimeMs_GrowsWithUse_NeverBeyondTheBound()
    {
        int previous = 0;
        for (long used = Limit - (1 << 20); used < Limit * 2; used += 1 << 16)
        {
            int ms = MemoryBudget.ThrottleTimeMs(used, Limit);
            Assert.InRange(ms, previous, MemoryBudget.MaxThrottleTimeMs);
            previous = ms;
        }
        Assert.Equal(MemoryBudget.MaxThrottleTimeMs, previous);
    }

    [Fact]
    public void Sample_OverTheLimit_ThrottlesAndAsksForMemoryBack_UnderItNeither()
    {
        long resident = Limit - 1;
        var budget = new MemoryBudget(Limit, () => resident);
        int overLimit = 0;
        budget.OverLimit += () => overLimit++;
        Assert.Equal(0, budget.ThrottleTimeMs());

        resident = Limit * 2;
        Assert.Equal(0, budget.ThrottleTimeMs()); // the produce path reads the last sample only
        budget.Sample();
        Assert.True(budget.IsOver);
        Assert.Equal(MemoryBudget.MaxThrottleTimeMs, budget.ThrottleTimeMs());
        Assert.Equal(1, overLimit);

        resident = Limit / 2;
        budget.Sample();
        Assert.False(budget.IsOver);
        Assert.Equal(0, budget.ThrottleTimeMs());
        Assert.Equal(1, overLimit);
    }

    [Fact]
    public void ResourceAlarm_OverTheMemoryBudget_IsRaised_AndClearsUnderIt()
    {
        long resident = Limit * 2;
        var budget = new MemoryBudget(Limit, () => resident);
        var options = new ResourceAlarmOptions { DataDirectory = Path.Combine(Path.GetTempPath(), "ferry-budget-" + Guid.NewGuid().ToString("N")), DiskFreeLimitBytes = 0 };
        using var alarm = new ResourceAlarm(options, NullLogger<ResourceAlarm>.Instance, freeDiskBytes: () => long.MaxValue, memory: budget);
        Assert.True(alarm.IsRaised);
        Assert.Contains("memory", alarm.Reason);

        resident = Limit / 2;
        alarm.Check();
        Assert.False(alarm.IsRaised);
        Assert.True(alarm.WhenClearAsync().IsCompleted);
    }

    [Fact]
    public void EffectiveMemoryLimit_AbsoluteWins_ElseAShareOfAvailableMemory()
    {
        Assert.Equal(96L << 20, new ResourceAlarmOptions { MemoryHighWatermarkBytes = 96L << 20 }.EffectiveMemoryLimitBytes());
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long derived = new ResourceAlarmOptions().EffectiveMemoryLimitBytes();
        Assert.InRange(derived, (long)(available * 0.59), (long)(available * 0.61));
    }

    [Fact]
    public void ResidentMemory_MatchesTheKernelsVmRss()
    {
        long vmRss = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024).Single();
        long resident = ResidentMemory.Bytes();
        // Two readings a moment apart of a live process: within a few MB of each other.
        Assert.InRange(resident, vmRss - (8L << 20), vmRss + (8L << 20));
    }
}
