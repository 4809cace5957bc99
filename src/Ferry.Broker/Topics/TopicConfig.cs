using System.Globalization;
using Ferry.Storage;

namespace Ferry.Broker.Topics;

/// <summary>
/// Every topic config Kafka 4.x defines (its <c>LogConfig</c>), validated as Kafka validates them (types, ranges,
/// enumerations), as overrides on the broker defaults. Names are Kafka's, so DescribeConfigs and
/// IncrementalAlterConfigs speak the language clients and tools already use. Those Ferry can act on are applied to
/// the partitions' <see cref="LogOptions"/>; the rest (remote storage, throttling, flush intervals, preallocation)
/// are accepted, kept and reported with their source, as a Kafka broker with those features idle would.
/// </summary>
public static class TopicConfig
{
    public const string CleanupPolicy = "cleanup.policy";
    public const string CompressionType = "compression.type";
    public const string DeleteRetentionMs = "delete.retention.ms";
    public const string IndexIntervalBytes = "index.interval.bytes";
    public const string MaxCompactionLagMs = "max.compaction.lag.ms";
    public const string MaxMessageBytes = "max.message.bytes";
    public const string MessageTimestampAfterMaxMs = "message.timestamp.after.max.ms";
    public const string MessageTimestampBeforeMaxMs = "message.timestamp.before.max.ms";
    public const string MessageTimestampType = "message.timestamp.type";
    public const string MinCleanableDirtyRatio = "min.cleanable.dirty.ratio";
    public const string MinCompactionLagMs = "min.compaction.lag.ms";
    public const string MinInsyncReplicas = "min.insync.replicas";
    public const string RetentionBytes = "retention.bytes";
    public const string RetentionMs = "retention.ms";
    public const string SegmentBytes = "segment.bytes";
    public const string SegmentMs = "segment.ms";

    private const long LongMax = long.MaxValue;

    /// <summary>Kafka's definitions, in name order (DescribeConfigs lists them so).</summary>
    public static readonly IReadOnlyList<ConfigDefinition> Definitions =
    [
        new(CleanupPolicy, ConfigType.List, "delete", "log.cleanup.policy", Validators.ListOf("compact", "delete"),
            "delete: old segments go by retention.ms and retention.bytes; compact: the last record of each key is kept; both: compacted and trimmed by retention."),
        new(CompressionType, ConfigType.String, "producer", "compression.type", Validators.OneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
            "The codec batches are stored with; producer keeps each batch as its producer compressed it."),
        new("compression.gzip.level", ConfigType.Int, "-1", "compression.gzip.level", Validators.IntIn(1, 9, alsoAllowed: -1),
            "The gzip level used when compression.type is gzip."),
        new("compression.lz4.level", ConfigType.Int, "9", "compression.lz4.level", Validators.IntIn(1, 17),
            "The lz4 level used when compression.type is lz4."),
        new("compression.zstd.level", ConfigType.Int, "3", "compression.zstd.level", Validators.IntIn(-131072, 22),
            "The zstd level used when compression.type is zstd."),
        new(DeleteRetentionMs, ConfigType.Long, "86400000", "log.cleaner.delete.retention.ms", Validators.LongAtLeast(0),
            "How long a tombstone (a record with a null value) stays readable on a compacted topic."),
        new("file.delete.delay.ms", ConfigType.Long, "60000", "log.segment.delete.delay.ms", Validators.LongAtLeast(0),
            "The time to wait before deleting a file from the filesystem."),
        new("flush.messages", ConfigType.Long, "9223372036854775807", "log.flush.interval.messages", Validators.LongAtLeast(1),
            "Messages between forced fsyncs; Ferry fsyncs by acks (acks=all waits for group commit)."),
        new("flush.ms", ConfigType.Long, "9223372036854775807", "log.flush.interval.ms", Validators.LongAtLeast(0),
            "Time between forced fsyncs; Ferry fsyncs by acks (acks=all waits for group commit)."),
        new("follower.replication.throttled.replicas", ConfigType.List, "", "follower.replication.throttled.replicas", Validators.ThrottledReplicas,
            "Replicas whose follower-side replication is throttled: '*' or partition:broker pairs."),
        new(IndexIntervalBytes, ConfigType.Int, "4096", "log.index.interval.bytes", Validators.IntAtLeast(0),
            "Bytes of data between two entries of the sparse offset index."),
        new("leader.replication.throttled.replicas", ConfigType.List, "", "leader.replication.throttled.replicas", Validators.ThrottledReplicas,
            "Replicas whose leader-side replication is throttled: '*' or partition:broker pairs."),
        new("local.retention.bytes", ConfigType.Long, "-2", "log.local.retention.bytes", Validators.LongAtLeast(-2),
            "Local retention with tiered storage; -2 means retention.bytes."),
        new("local.retention.ms", ConfigType.Long, "-2", "log.local.retention.ms", Validators.LongAtLeast(-2),
            "Local retention with tiered storage; -2 means retention.ms."),
        new(MaxCompactionLagMs, ConfigType.Long, "9223372036854775807", "log.cleaner.max.compaction.lag.ms", Validators.LongAtLeast(1),
            "The longest a record stays uncompacted, whatever the dirty ratio."),
        new(MaxMessageBytes, ConfigType.Int, "1048588", "message.max.bytes", Validators.IntAtLeast(0),
            "The largest record batch accepted, after compression."),
        new("message.downconversion.enable", ConfigType.Boolean, "true", "log.message.downconversion.enable", Validators.Boolean,
            "Deprecated; down-conversion does not exist since Kafka 4.0 and the value has no effect."),
        new(MessageTimestampAfterMaxMs, ConfigType.Long, "3600000", "log.message.timestamp.after.max.ms", Validators.LongAtLeast(0),
            "How far ahead of the broker's clock a CreateTime timestamp may be; later ones get INVALID_TIMESTAMP."),
        new(MessageTimestampBeforeMaxMs, ConfigType.Long, "9223372036854775807", "log.message.timestamp.before.max.ms", Validators.LongAtLeast(0),
            "How far behind the broker's clock a CreateTime timestamp may be; older ones get INVALID_TIMESTAMP."),
        new(MessageTimestampType, ConfigType.String, "CreateTime", "log.message.timestamp.type", Validators.OneOf("CreateTime", "LogAppendTime"),
            "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's clock on append."),
        new(MinCleanableDirtyRatio, ConfigType.Double, "0.5", "log.cleaner.min.cleanable.ratio", Validators.DoubleIn(0, 1),
            "The share of a compacted log not yet cleaned at which the cleaner cleans it."),
        new(MinCompactionLagMs, ConfigType.Long, "0", "log.cleaner.min.compaction.lag.ms", Validators.LongAtLeast(0),
            "The least time a record stays uncompacted."),
        new(MinInsyncReplicas, ConfigType.Int, "1", "min.insync.replicas", Validators.IntAtLeast(1),
            "In-sync replicas (the leader included) an acks=all produce needs."),
        new("preallocate", ConfigType.Boolean, "false", "log.preallocate", Validators.Boolean,
            "Preallocate segment files; Ferry does not, the value has no effect."),
        new("remote.log.copy.disable", ConfigType.Boolean, "false", null, Validators.Boolean,
            "Tiered storage: stop copying segments to remote storage."),
        new("remote.log.delete.on.disable", ConfigType.Boolean, "false", null, Validators.Boolean,
            "Tiered storage: delete remote data when tiering is disabled."),
        new("remote.storage.enable", ConfigType.Boolean, "false", null, Validators.FalseOnly,
            "Tiered storage, which Ferry does not have: only false is accepted."),
        new(RetentionBytes, ConfigType.Long, "-1", "log.retention.bytes", Validators.AnyLong,
            "Delete the oldest segments while a partition is larger than this; -1 for no limit."),
        new(RetentionMs, ConfigType.Long, "604800000", "log.retention.ms", Validators.LongAtLeast(-1),
            "Delete segments whose newest record is older than this; -1 keeps forever."),
        new(SegmentBytes, ConfigType.Int, "1073741824", "log.segment.bytes", Validators.IntAtLeast(1024 * 1024),
            "Roll a new segment before the active one passes this size."),
        new("segment.index.bytes", ConfigType.Int, "10485760", "log.index.size.max.bytes", Validators.IntAtLeast(4),
            "The largest offset index; Ferry's sparse indexes grow as needed."),
        new("segment.jitter.ms", ConfigType.Long, "0", "log.roll.jitter.ms", Validators.LongAtLeast(0),
            "Random jitter subtracted from segment.ms."),
        new(SegmentMs, ConfigType.Long, "604800000", "log.roll.ms", Validators.LongAtLeast(1),
            "Roll a new segment once the active one is this old."),
        new("unclean.leader.election.enable", ConfigType.Boolean, "false", "unclean.leader.election.enable", Validators.Boolean,
            "Whether an out-of-sync replica may become leader; Ferry never elects one."),
    ];

    private static readonly Dictionary<string, ConfigDefinition> ByName = Definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);

    /// <summary>Every config DescribeConfigs reports, in a stable order.</summary>
    public static readonly string[] Known = [.. Definitions.Select(d => d.Name)];

    public static bool IsKnown(string name) => ByName.ContainsKey(name);

    public static ConfigDefinition? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>
    /// The effective value of <paramref name="name"/>: what the log runs with for the configs Ferry acts on (the
    /// broker default or the override), else the override or Kafka's default.
    /// </summary>
    public static string Value(LogOptions options, IReadOnlyDictionary<string, string> overrides, string name) => name switch
    {
        RetentionMs => Invariant(options.RetentionMs),
        RetentionBytes => Invariant(options.RetentionBytes),
        SegmentBytes => Invariant(options.SegmentBytes),
        SegmentMs => Invariant(options.SegmentMs),
        MaxMessageBytes => Invariant(options.MaxBatchBytes),
        IndexIntervalBytes => Invariant(options.IndexIntervalBytes),
        MessageTimestampType => options.UseLogAppendTime ? "LogAppendTime" : "CreateTime",
        _ => overrides.TryGetValue(name, out var value) ? Normalize(ByName[name], value) : ByName[name].Default,
    };

    /// <summary>The value a config has without an override on the topic (the broker's default).</summary>
    public static string DefaultValue(LogOptions defaults, string name) => Value(defaults, EmptyOverrides, name);

    private static readonly Dictionary<string, string> EmptyOverrides = [];

    /// <summary>Checks one value against Kafka's definition; the error names the config, as Kafka's does.</summary>
    public static bool TryValidate(string name, string? value, out string? error)
    {
        if (!ByName.TryGetValue(name, out var definition))
        {
            error = $"Unknown topic config name: {name}";
            return false;
        }
        string? reason = value is null ? "a value is required" : definition.Validate(value.Trim());
        if (reason is not null)
        {
            error = $"Invalid value {value} for configuration {name}: {reason}";
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>Applies one override; false with a reason if the name is unknown or the value invalid.</summary>
    public static bool TryApply(ref LogOptions options, string name, string? value, out string? error)
    {
        if (!TryValidate(name, value, out error)) return false;
        string v = value!.Trim();
        options = name switch
        {
            RetentionMs => options with { RetentionMs = ParseLong(v) },
            RetentionBytes => options with { RetentionBytes = ParseLong(v) },
            SegmentBytes => options with { SegmentBytes = (int)ParseLong(v) },
            SegmentMs => options with { SegmentMs = ParseLong(v) },
            MaxMessageBytes => options with { MaxBatchBytes = (int)ParseLong(v) },
            IndexIntervalBytes => options with { IndexIntervalBytes = (int)ParseLong(v) },
            MessageTimestampType => options with { UseLogAppendTime = v == "LogAppendTime" },
            CleanupPolicy => options with { Compact = Validators.Items(v).Contains("compact"), Delete = Validators.Items(v).Contains("delete") },
            DeleteRetentionMs => options with { DeleteRetentionMs = ParseLong(v) },
            MinCompactionLagMs => options with { MinCompactionLagMs = ParseLong(v) },
            MaxCompactionLagMs => options with { MaxCompactionLagMs = ParseLong(v) },
            MinCleanableDirtyRatio => options with { MinCleanableDirtyRatio = double.Parse(v, CultureInfo.InvariantCulture) },
            CompressionType => options with { CompressionCodec = CodecOf(v) },
            MessageTimestampBeforeMaxMs => options with { TimestampBeforeMaxMs = ParseLong(v) },
            MessageTimestampAfterMaxMs => options with { TimestampAfterMaxMs = ParseLong(v) },
            _ => options,
        };
        return true;
    }

    /// <summary>
    /// APPEND and SUBTRACT of IncrementalAlterConfigs on a list config: the new value from the current one, items
    /// kept in order, an appended item that is already there not repeated (as Kafka's ConfigAdminManager does).
    /// </summary>
    public static bool TryCombineList(string name, string current, string items, bool append, out string result, out string? error)
    {
        result = current;
        error = null;
        if (!ByName.TryGetValue(name, out var definition))
        {
            error = $"Unknown topic config name: {name}";
            return false;
        }
        if (definition.Type != ConfigType.List)
        {
            error = $"Config value {(append ? "append" : "subtract")} is not allowed for config key: {name}";
            return false;
        }
        var list = Validators.Items(current).ToList();
        foreach (var item in Validators.Items(items))
        {
            if (append && !list.Contains(item)) list.Add(item);
            else if (!append) list.Remove(item);
        }
        result = string.Join(',', list);
        return true;
    }

    private static int CodecOf(string value) => value switch
    {
        "uncompressed" => Storage.Records.RecordBatchCompression.None,
        "gzip" => Storage.Records.RecordBatchCompression.Gzip,
        "snappy" => Storage.Records.RecordBatchCompression.Snappy,
        "lz4" => Storage.Records.RecordBatchCompression.Lz4,
        "zstd" => Storage.Records.RecordBatchCompression.Zstd,
        _ => -1,
    };

    /// <summary>Lists are reported as Kafka reports them: items comma-separated, without spaces.</summary>
    private static string Normalize(ConfigDefinition definition, string value) =>
        definition.Type == ConfigType.List ? string.Join(',', Validators.Items(value)) : value.Trim();

    private static long ParseLong(string value) => long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Kafka's config types, numbered as DescribeConfigs v3+ reports them (<c>config_type</c>).</summary>
public enum ConfigType : sbyte
{
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

/// <summary>One config as Kafka defines it: its type, default, broker-level synonym and check.</summary>
/// <param name="Validate">Null for a valid (trimmed) value, else why not.</param>
public sealed record ConfigDefinition(string Name, ConfigType Type, string Default, string? ServerSynonym,
    Func<string, string?> Validate, string Documentation);
