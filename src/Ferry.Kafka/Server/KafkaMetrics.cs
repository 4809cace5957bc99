using System.Diagnostics.Metrics;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Server;

/// <summary>
/// Request latency per Kafka API, and producers' memory throttling. The tag arrays are built once per API key, so recording a request
/// allocates nothing.
/// </summary>
internal static class KafkaMetrics
{
    public const string MeterName = "Ferry.Kafka";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>(
        "ferry.kafka.request.duration", unit: "s",
        description: "Time from reading a Kafka request to its response being ready (produce: after fsync for acks=all; fetch: after long-poll)");

    private static readonly Counter<long> ThrottledRequests = Meter.CreateCounter<long>(
        "ferry.kafka.produce.throttled", unit: "{request}",
        description: "Produce requests throttled because the broker was over its memory limit (KIP-219 throttle_time_ms)");

    private static readonly Counter<long> ThrottleTime = Meter.CreateCounter<long>(
        "ferry.kafka.produce.throttle_time", unit: "ms",
        description: "Throttle time given to producers while the broker was over its memory limit");

    private static readonly KeyValuePair<string, object?>[][] Tags = BuildTags();

    private static KeyValuePair<string, object?>[][] BuildTags()
    {
        var tags = new KeyValuePair<string, object?>[ApiKeys.All.Max(a => a.ApiKey) + 1][];
        foreach (var api in ApiKeys.All) tags[api.ApiKey] = [new("api", api.Name)];
        return tags;
    }

    public static void RecordThrottle(int throttleMs)
    {
        ThrottledRequests.Add(1);
        ThrottleTime.Add(throttleMs);
    }

    public static void RecordRequest(short apiKey, TimeSpan elapsed)
    {
        if ((uint)apiKey < (uint)Tags.Length && Tags[apiKey] is { } tags) RequestDuration.Record(elapsed.TotalSeconds, tags);
    }
}
