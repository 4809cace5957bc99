using Ferry.Storage.Durability;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ferry.Broker.Metadata;
using Ferry.Storage;
using Ferry.Storage.Compaction;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Topics;

/// <summary>
/// Every topic of the node: created, altered and deleted here, one change at a time, each change written
/// durably to <c>DATA/topics.json</c> before it is answered. Logs live in <c>DATA/topics/NAME-PARTITION/</c>.
/// </summary>
/// <remarks>
/// Readers look topics up without locks; changes hold <see cref="_changeLock"/>. A crash between creating a
/// log directory and recording the topic leaves an orphan directory that the next start deletes, so the
/// metadata file is the single truth.
/// </remarks>
public sealed partial class TopicRegistry : IAsyncDisposable
{
    private readonly Lock _changeLock = new();
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    // Fetch v13+ names topics by id in every request: a lookup, not a scan.
    private readonly ConcurrentDictionary<Guid, Topic> _byId = new();
    private readonly BrokerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly string _metadataPath;
    private readonly string _logsRoot;

    private TopicRegistry(BrokerOptions options, ILoggerFactory loggerFactory)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<TopicRegistry>();
        _metadataPath = Path.Combine(options.DataDirectory, "topics.json");
        _logsRoot = Path.Combine(options.DataDirectory, "topics");
        Cleaner = new LogCleaner(options.Cleaner, () => _topics.Values.SelectMany(t => t.Partitions.Select(p => p.Log)), options.Time,
            loggerFactory.CreateLogger<LogCleaner>());
        _checkpointPath = Path.Combine(options.DataDirectory, HighWatermarkCheckpoint.FileName);
    }

    private readonly string _checkpointPath;

    /// <summary>
    /// Writes every partition's high watermark to the checkpoint (replicated nodes only; see
    /// <see cref="HighWatermarkCheckpoint"/>). Called on a timer by the host and at a clean shutdown.
    /// </summary>
    public void CheckpointHighWatermarks()
    {
        if (!_options.Replicated) return;
        try
        {
            lock (_changeLock) HighWatermarkCheckpoint.Write(_checkpointPath, _topics.Values);
        }
        catch (IOException ex)
        {
            // The previous checkpoint stays: older high watermarks only hide more at the next start, never less.
            CheckpointFailed(_logger, ex);
        }
    }

    /// <summary>The cleaner of every partition whose topic has cleanup.policy=compact; the host runs it.</summary>
    public LogCleaner Cleaner { get; }

    private volatile Func<string, Task>[] _deletionHooks = [];

    public IEnumerable<Topic> Topics => _topics.Values;

    /// <summary>The broker's defaults for every log: what a topic without overrides runs with.</summary>
    public LogOptions Defaults => _options.DefaultLogOptions;

    /// <summary>
    /// Adds what runs once a topic is deleted, before the deletion is answered: state kept about the topic
    /// elsewhere (committed offsets) goes with it, so a topic recreated under the same name starts afresh.
    /// </summary>
    public void AddDeletionHook(Func<string, Task> hook)
    {
        lock (_changeLock) _deletionHooks = [.. _deletionHooks, hook];
    }

    public int Count => _topics.Count;

    public static TopicRegistry Open(BrokerOptions options, ILoggerFactory loggerFactory)
    {
        var registry = new TopicRegistry(options, loggerFactory);
        registry.Load();
        return registry;
    }

    private void Load()
    {
        FileSync.CreateDirectory(_logsRoot);
        var bytes = DurableFile.ReadAllBytes(_metadataPath);
        var records = bytes is null ? [] : JsonSerializer.Deserialize(bytes, TopicsJsonContext.Default.ListTopicRecord) ?? [];
        var highWatermarks = _options.Replicated ? HighWatermarkCheckpoint.Read(_checkpointPath) : null;
        foreach (var record in records)
        {
            var options = Effective(record.Configs, out _);
            var partitions = new Partition[record.Partitions];
            for (int p = 0; p < partitions.Length; p++)
            {
                // Replicated: a partition missing from the checkpoint knows no committed offset yet (its log start).
                long? highWatermark = highWatermarks is null ? null : highWatermarks.GetValueOrDefault((record.Name, p), 0);
                partitions[p] = OpenPartition(record.Name, p, options, highWatermark);
            }
            _topics[record.Name] = _byId[record.Id] = new Topic(record.Name, record.Id, partitions, new Dictionary<string, string>(record.Configs), options);
        }
        RemoveOrphanLogs();
        int partitionCount = _topics.Values.Sum(t => t.Partitions.Count);
        Loaded(_logger, _topics.Count, partitionCount);
    }

    private void RemoveOrphanLogs()
    {
        var expected = new HashSet<string>(_topics.Values.SelectMany(t => t.Partitions.Select(p => PartitionDirectory(t.Name, p.Index))));
        foreach (var directory in Directory.EnumerateDirectories(_logsRoot))
        {
            if (expected.Contains(directory)) continue;
            OrphanRemoved(_logger, directory);
            Directory.Delete(directory, recursive: true);
        }
    }

    private string PartitionDirectory(string topic, int partition) => Path.Combine(_logsRoot, $"{topic}-{partition}");

    private Partition OpenPartition(string topic, int index, LogOptions options, long? highWatermark = null)
    {
        var log = Log.Open(PartitionDirectory(topic, index), options, _options.Time, _loggerFactory.CreateLogger<Log>());
        var partition = new Partition(topic, index, log, highWatermark);
        partition.RebuildProducerState();
        return partition;
    }

    private LogOptions Effective(IReadOnlyDictionary<string, string> overrides, out string? error)
    {
        var options = _options.DefaultLogOptions;
        error = null;
        foreach (var (name, value) in overrides)
        {
            if (!TopicConfig.TryApply(ref options, name, value, out error)) return options;
        }
        return options;
    }

    public bool TryGet(string name, out Topic topic) => _topics.TryGetValue(name, out topic!);

    public Topic? Find(Guid id) => _byId.GetValueOrDefault(id);

    /// <summary>Checks a CreateTopics request without creating anything (validate_only, and before creating).</summary>
    public TopicResult Validate(string name, int partitions, IReadOnlyDictionary<string, string>? configs)
    {
        if (!TopicNames.IsValid(name, out var nameError)) return new(TopicError.InvalidTopicName, nameError);
        if (_topics.ContainsKey(name)) return new(TopicError.TopicAlreadyExists, $"Topic '{name}' already exists.");
        if (partitions < 1 || partitions > 10_000) return new(TopicError.InvalidPartitions, "Number of partitions must be between 1 and 10000.");
        if (configs is not null)
        {
            Effective(configs, out var configError);
            if (configError is not null) return new(TopicError.InvalidConfig, configError);
        }
        return TopicResult.Ok;
    }

    /// <param name="id">The topic id the cluster's metadata gave it; null: a new one (a single node decides alone).</param>
    public TopicResult Create(string name, int partitions, IReadOnlyDictionary<string, string>? configs = null, Guid? id = null)
    {
        lock (_changeLock)
        {
            var valid = Validate(name, partitions, configs);
            if (!valid.Succeeded) return valid;
            var overrides = configs is null ? [] : new Dictionary<string, string>(configs);
            var options = Effective(overrides, out _);
            var opened = new Partition[partitions];
            for (int p = 0; p < partitions; p++) opened[p] = OpenPartition(name, p, options);
            var topic = new Topic(name, id ?? Guid.NewGuid(), opened, overrides, options);
            _topics[name] = _byId[topic.Id] = topic;
            Persist();
            Created(_logger, name, partitions);
            return TopicResult.Ok;
        }
    }

    /// <summary>Creates the topic unless it exists (auto-creation on first use); racing callers both see it.</summary>
    public Topic? GetOrCreate(string name, int partitions)
    {
        if (_topics.TryGetValue(name, out var existing)) return existing;
        var result = Create(name, partitions);
        return result.Succeeded || result.Error == TopicError.TopicAlreadyExists ? _topics.GetValueOrDefault(name) : null;
    }

    public async ValueTask<TopicResult> DeleteAsync(string name)
    {
        Topic? topic;
        lock (_changeLock)
        {
            if (!_topics.TryRemove(name, out topic)) return new(TopicError.UnknownTopic, $"Topic '{name}' does not exist.");
            _byId.TryRemove(topic.Id, out _);
            Persist();
        }
        foreach (var partition in topic.Partitions) await partition.Log.DeleteAsync().ConfigureAwait(false);
        foreach (var hook in _deletionHooks) await hook(name).ConfigureAwait(false);
        Deleted(_logger, name);
        return TopicResult.Ok;
    }

    public TopicResult CreatePartitions(string name, int newTotal, bool validateOnly)
    {
        lock (_changeLock)
        {
            if (!_topics.TryGetValue(name, out var topic)) return new(TopicError.UnknownTopic, $"Topic '{name}' does not exist.");
            int current = topic.Partitions.Count;
            if (newTotal <= current)
                return new(TopicError.InvalidPartitions, $"Topic currently has {current} partitions, which is higher than or equal to the requested {newTotal}.");
            if (newTotal > 10_000) return new(TopicError.InvalidPartitions, "Number of partitions must be at most 10000.");
            if (validateOnly) return TopicResult.Ok;
            var partitions = topic.Partitions.ToList();
            for (int p = current; p < newTotal; p++) partitions.Add(OpenPartition(name, p, topic.Options));
            topic.SetPartitions([.. partitions]);
            Persist();
            return TopicResult.Ok;
        }
    }

    /// <summary>
    /// Applies config changes (null value: back to the default) to a topic, all or nothing, and to its
    /// partitions' logs.
    /// </summary>
    public TopicResult AlterConfigs(string name, IReadOnlyList<(string Name, string? Value)> changes, bool replaceAll, bool validateOnly)
    {
        lock (_changeLock)
        {
            if (!_topics.TryGetValue(name, out var topic)) return new(TopicError.UnknownTopic, $"Topic '{name}' does not exist.");
            var overrides = replaceAll ? [] : new Dictionary<string, string>(topic.Overrides);
            foreach (var (config, value) in changes)
            {
                if (!TopicConfig.IsKnown(config)) return new(TopicError.InvalidConfig, $"Unknown topic config name: {config}");
                if (value is null) overrides.Remove(config);
                else overrides[config] = value;
            }
            var options = Effective(overrides, out var error);
            if (error is not null) return new(TopicError.InvalidConfig, error);
            if (validateOnly) return TopicResult.Ok;
            topic.Overrides = overrides;
            topic.Options = options;
            foreach (var partition in topic.Partitions) partition.UpdateOptions(options);
            Persist();
            return TopicResult.Ok;
        }
    }

    /// <summary>Runs retention over every partition (called on a timer by the host).</summary>
    public int ApplyRetention()
    {
        int deleted = 0;
        foreach (var topic in _topics.Values)
        {
            foreach (var partition in topic.Partitions) deleted += partition.ApplyRetention();
        }
        return deleted;
    }

    private void Persist()
    {
        var records = _topics.Values
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .Select(t => new TopicRecord(t.Name, t.Id, t.Partitions.Count, t.Overrides))
            .ToList();
        DurableFile.WriteAllBytes(_metadataPath, JsonSerializer.SerializeToUtf8Bytes(records, TopicsJsonContext.Default.ListTopicRecord));
    }

    public async ValueTask DisposeAsync()
    {
        CheckpointHighWatermarks();
        foreach (var topic in _topics.Values)
        {
            foreach (var partition in topic.Partitions) await partition.Log.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal sealed record TopicRecord(string Name, Guid Id, int Partitions, Dictionary<string, string> Configs);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Loaded {Topics} topics with {Partitions} partitions")]
    private static partial void Loaded(ILogger logger, int topics, int partitions);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Created topic {Topic} with {Partitions} partitions")]
    private static partial void Created(ILogger logger, string topic, int partitions);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Deleted topic {Topic}")]
    private static partial void Deleted(ILogger logger, string topic);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Writing the high-watermark checkpoint failed; retrying at the next one")]
    private static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Removed log directory {Directory}, which belongs to no topic")]
    private static partial void OrphanRemoved(ILogger logger, string directory);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(List<TopicRegistry.TopicRecord>))]
internal sealed partial class TopicsJsonContext : JsonSerializerContext;
