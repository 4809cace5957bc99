using System.Globalization;
using Ferry.Storage;

namespace Ferry.Broker.Topics;

/// <summary>
/// The Kafka topic configs Ferry honours, as overrides on the broker defaults. Names are Kafka's, so
/// DescribeConfigs and IncrementalAlterConfigs speak the language clients and tools already use.
/// </summary>
public static class TopicConfig
{
    public const string RetentionMs = "retention.ms";
    public const string RetentionBytes = "retention.bytes";
    public const string SegmentBytes = "segment.bytes";
    public const string SegmentMs = "segment.ms";
    public const string MaxMessageBytes = "max.message.bytes";
    public const string MessageTimestampType = "message.timestamp.type";
    public const string CleanupPolicy = "cleanup.policy";
    public const string MinInsyncReplicas = "min.insync.replicas";

    /// <summary>Every config DescribeConfigs reports, in a stable order.</summary>
    public static readonly string[] Known =
    [
        CleanupPolicy, MaxMessageBytes, MessageTimestampType, MinInsyncReplicas, RetentionBytes, RetentionMs, SegmentBytes, SegmentMs,
    ];

    /// <summary>The effective value of <paramref name="name"/> for a log with <paramref name="options"/>.</summary>
    public static string Value(LogOptions options, string name) => name switch
    {
        RetentionMs => Invariant(options.RetentionMs),
        RetentionBytes => Invariant(options.RetentionBytes),
        SegmentBytes => Invariant(options.SegmentBytes),
        SegmentMs => Invariant(options.SegmentMs),
        MaxMessageBytes => Invariant(options.MaxBatchBytes),
        MessageTimestampType => options.UseLogAppendTime ? "LogAppendTime" : "CreateTime",
        CleanupPolicy => "delete",
        MinInsyncReplicas => "1",
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>Applies one override; false with a reason if the name is unknown or the value invalid.</summary>
    public static bool TryApply(ref LogOptions options, string name, string? value, out string? error)
    {
        error = null;
        switch (name)
        {
            case RetentionMs when TryLong(value, -1, out long v):
                options = options with { RetentionMs = v };
                return true;
            case RetentionBytes when TryLong(value, -1, out long v):
                options = options with { RetentionBytes = v };
                return true;
            case SegmentBytes when TryLong(value, 14, out long v) && v <= int.MaxValue:
                options = options with { SegmentBytes = (int)v };
                return true;
            case SegmentMs when TryLong(value, 1, out long v):
                options = options with { SegmentMs = v };
                return true;
            case MaxMessageBytes when TryLong(value, 0, out long v) && v <= int.MaxValue:
                options = options with { MaxBatchBytes = (int)v };
                return true;
            case MessageTimestampType when value is "CreateTime" or "LogAppendTime":
                options = options with { UseLogAppendTime = value == "LogAppendTime" };
                return true;
            case CleanupPolicy when value == "delete":
            case MinInsyncReplicas when value == "1":
                return true;
            default:
                error = Array.IndexOf(Known, name) < 0
                    ? $"Unknown topic config name: {name}"
                    : $"Invalid value {value} for configuration {name}";
                return false;
        }
    }

    public static bool IsKnown(string name) => Array.IndexOf(Known, name) >= 0;

    private static bool TryLong(string? value, long min, out long result) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result) && result >= min;

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
