using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Ferry.Load.Common;

/// <summary>One JSON line per run, the unit bench/run collects and Ferry.Report reads.</summary>
internal static class Result
{
    private static TimeSpan s_cpuAtStart;

    /// <summary>Called as the timed part starts: the CPU figure counts from here.</summary>
    public static void MarkStart() => s_cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;

    public static int Print(LoadOptions options, string scenario, int size, long sent, Delivery delivery,
        double produceSeconds, double consumeSeconds, long clientAllocatedBytes)
    {
        bool exact = delivery.ExactlyOnce(sent);
        var (p50, p99, p999, samples) = delivery.Latency.Percentiles();
        var line = new Dictionary<string, object?>
        {
            ["kind"] = "result",
            ["system"] = options.Label,
            ["scenario"] = scenario,
            ["size"] = size,
            ["mode"] = options.Rate > 0 ? "latency" : "throughput",
            ["rate"] = options.Rate,
            ["seconds"] = options.Seconds,
            ["sent"] = sent,
            ["acked"] = delivery.Acked,
            ["failed"] = delivery.Failed,
            ["consumed"] = delivery.Consumed,
            ["duplicates"] = delivery.Duplicates,
            ["exactlyOnce"] = exact,
            ["produceMsgPerSec"] = Math.Round(delivery.Acked / produceSeconds),
            ["produceMBPerSec"] = Math.Round(delivery.Acked * (double)size / produceSeconds / 1e6, 2),
            ["consumeMsgPerSec"] = Math.Round(delivery.Consumed / consumeSeconds),
            ["consumeMBPerSec"] = Math.Round(delivery.Consumed * (double)size / consumeSeconds / 1e6, 2),
            ["p50us"] = Finite(p50),
            ["p99us"] = Finite(p99),
            ["p999us"] = Finite(p999),
            ["latencySamples"] = samples,
            ["clientAllocatedBytesPerMsg"] = sent == 0 ? 0 : Math.Round(clientAllocatedBytes / (double)sent),
            // The load generator's own CPU over the whole run (both clients), in cores: on 2 cores, what it
            // takes is not available to the broker.
            ["clientCpuCores"] = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - s_cpuAtStart).TotalSeconds / Math.Max(consumeSeconds, produceSeconds), 2),
        };
        Console.WriteLine(JsonSerializer.Serialize(line, Json));
        if (!exact)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"exactly-once check FAILED: sent {sent}, acked {delivery.Acked}, failed {delivery.Failed}, consumed {delivery.Consumed}, duplicates {delivery.Duplicates}, out of range {delivery.OutOfRange}"));
        }
        return exact ? 0 : 1;
    }

    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static double? Finite(double v) => double.IsFinite(v) ? Math.Round(v) : null;
}
