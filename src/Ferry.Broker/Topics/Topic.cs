using Ferry.Storage;

namespace Ferry.Broker.Topics;

/// <summary>A topic: its id, its partitions and its config overrides (on top of the broker defaults).</summary>
public sealed class Topic
{
    private volatile Partition[] _partitions;

    internal Topic(string name, Guid id, Partition[] partitions, Dictionary<string, string> overrides, LogOptions effective)
    {
        Name = name;
        Id = id;
        _partitions = partitions;
        Overrides = overrides;
        Options = effective;
    }

    public string Name { get; }
    public Guid Id { get; }
    public IReadOnlyList<Partition> Partitions => _partitions;

    /// <summary>Configs set on this topic (DescribeConfigs reports them as topic-level, the rest as defaults).</summary>
    public Dictionary<string, string> Overrides { get; internal set; }

    public LogOptions Options { get; internal set; }

    public Partition? TryGetPartition(int index)
    {
        var partitions = _partitions;
        return (uint)index < (uint)partitions.Length ? partitions[index] : null;
    }

    internal void SetPartitions(Partition[] partitions) => _partitions = partitions;
}
