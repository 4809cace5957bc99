using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Diagnostics;

/// <summary>
/// Handling time per AMQP method. The tag arrays are built once per method, so recording one allocates
/// nothing.
/// </summary>
internal static class AmqpMetrics
{
    public const string MeterName = "Ferry.Amqp";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> MethodDuration = Meter.CreateHistogram<double>(
        "ferry.amqp.method.duration", unit: "s",
        description: "Time the broker spends handling an AMQP method frame (routing and enqueueing for basic.publish happen on its last content frame and are not included)");

    private static readonly FrozenDictionary<AmqpMethodId, KeyValuePair<string, object?>[]> Tags =
        Enum.GetValues<AmqpMethodId>().Distinct().ToFrozenDictionary(id => id,
            id => new[] { new KeyValuePair<string, object?>("method", AmqpMethods.FindName(id) ?? id.ToString()) });

    public static void RecordMethod(AmqpMethodId id, TimeSpan elapsed)
    {
        if (Tags.TryGetValue(id, out var tags)) MethodDuration.Record(elapsed.TotalSeconds, tags);
    }
}
