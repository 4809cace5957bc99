using Ferry.Broker;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Replication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;

namespace Ferry.Cluster.Tests.Replication;

/// <summary>
/// Several replica nodes in one process, joined by an in-memory transport that can cut a node off, and a
/// controller that commits partition states and tells every node, in order, as the metadata quorum would.
/// Time is a hand-moved clock, so ISR lag is decided by the test, never by the machine's speed.
/// </summary>
internal sealed class InMemoryCluster : IAsyncDisposable, IReplicaTransport
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ferry-cluster-" + Guid.NewGuid().ToString("N"));
    private readonly Lock _lock = new();
    private readonly Dictionary<(string, int), PartitionState> _states = [];
    private readonly HashSet<int> _isolated = [];
    private long _nowMs = 1_000_000;

    public InMemoryCluster(int nodes, TimeSpan? lagMax = null)
    {
        Options = new ReplicationOptions
        {
            ReplicaLagTimeMax = lagMax ?? TimeSpan.FromSeconds(10),
            FetchMaxWait = TimeSpan.FromMilliseconds(50),
            FetchBackoff = TimeSpan.FromMilliseconds(20),
            IsrCheckInterval = TimeSpan.FromHours(1), // the tests run ISR checks themselves
            NowMs = () => Interlocked.Read(ref _nowMs),
        };
        for (int id = 1; id <= nodes; id++) Nodes.Add(new Node(this, id));
        foreach (var node in Nodes) node.Manager.Start();
    }

    public ReplicationOptions Options { get; }

    /// <summary>What the nodes' replica managers and fetchers logged.</summary>
    public FakeLoggerProvider Log { get; } = new();
    public List<Node> Nodes { get; } = [];
    public Node this[int id] => Nodes[id - 1];

    public void Advance(TimeSpan by) => Interlocked.Add(ref _nowMs, (long)by.TotalMilliseconds);

    public void Isolate(int id)
    {
        lock (_lock) _isolated.Add(id);
    }

    public void Heal(int id)
    {
        lock (_lock) _isolated.Remove(id);
    }

    private bool Cut(int a, int b)
    {
        lock (_lock) return _isolated.Contains(a) || _isolated.Contains(b);
    }

    public PartitionState State(string topic, int partition)
    {
        lock (_lock) return _states[(topic, partition)];
    }

    /// <summary>Creates the topic on every node and makes <paramref name="leader"/> lead it at epoch 0 with all in sync.</summary>
    public void CreateTopic(string topic, int leader)
    {
        int[] replicas = [.. Nodes.Select(n => n.Id)];
        foreach (var node in Nodes) node.Topics.Create(topic, 1);
        Commit(topic, 0, new PartitionState(leader, 0, replicas, replicas, 0));
    }

    /// <summary>An election: <paramref name="leader"/> leads at the next epoch with <paramref name="isr"/>.</summary>
    public void Elect(string topic, int leader, params int[] isr)
    {
        var old = State(topic, 0);
        Commit(topic, 0, old with { Leader = leader, LeaderEpoch = old.LeaderEpoch + 1, Isr = isr, PartitionEpoch = old.PartitionEpoch + 1 });
    }

    private void Commit(string topic, int partition, PartitionState state)
    {
        lock (_lock) _states[(topic, partition)] = state;
        foreach (var node in Nodes) node.Notify(topic, partition, state);
    }

    /// <summary>The controller's AlterPartition check (KIP-497): the asker must lead at the current epochs.</summary>
    private AlterPartitionResult AlterPartition(AlterPartitionRequest request)
    {
        PartitionState next;
        lock (_lock)
        {
            var state = _states[(request.Topic, request.Partition)];
            if (_isolated.Contains(request.LeaderId)) return new AlterPartitionResult(AlterPartitionError.NotController, state);
            if (state.Leader != request.LeaderId || state.LeaderEpoch != request.LeaderEpoch)
                return new AlterPartitionResult(AlterPartitionError.FencedLeaderEpoch, state);
            if (state.PartitionEpoch != request.PartitionEpoch) return new AlterPartitionResult(AlterPartitionError.InvalidUpdateVersion, state);
            next = state with { Isr = [.. request.NewIsr], PartitionEpoch = state.PartitionEpoch + 1 };
        }
        Commit(request.Topic, request.Partition, next);
        return new AlterPartitionResult(AlterPartitionError.None, next);
    }

    public async ValueTask<ReplicaFetchResponse> FetchAsync(int leaderId, ReplicaFetchRequest request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (Cut(leaderId, request.ReplicaId)) return ReplicaFetchResponse.Failed(ReplicaError.Unreachable);
        var response = await this[leaderId].Server.FetchAsync(request, cancellationToken);
        // A cut during the wait loses the answer, as a dropped connection would.
        return Cut(leaderId, request.ReplicaId) ? ReplicaFetchResponse.Failed(ReplicaError.Unreachable) : response;
    }

    public async ValueTask<EpochEndResponse> EndOffsetForEpochAsync(int leaderId, EpochEndRequest request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (Cut(leaderId, request.ReplicaId)) return new EpochEndResponse(ReplicaError.Unreachable, -1, -1);
        return this[leaderId].Server.EndOffsetForEpoch(request);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) await node.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    internal sealed class Node : IClusterView, IMetadataController, IAsyncDisposable
    {
        private readonly InMemoryCluster _cluster;
        private readonly List<Action<PartitionRoleChange>> _subscribers = [];
        private readonly Lock _notifyLock = new();

        public Node(InMemoryCluster cluster, int id)
        {
            _cluster = cluster;
            Id = id;
            Topics = TopicRegistry.Open(new BrokerOptions { DataDirectory = Path.Combine(cluster._root, $"node-{id}") }, NullLoggerFactory.Instance);
            Server = new ReplicaServer(Topics, cluster.Options);
            Manager = new ReplicaManager(Topics, this, this, cluster, cluster.Options, new LoggerFactory([cluster.Log]));
        }

        public int Id { get; }
        public TopicRegistry Topics { get; }
        public ReplicaServer Server { get; }
        public ReplicaManager Manager { get; }

        public Partition Partition(string topic) => Topics.TryGet(topic, out var t) ? t.Partitions[0] : throw new InvalidOperationException();

        public void Notify(string topic, int partition, PartitionState state)
        {
            var role = state.Leader == Id ? PartitionRole.Leader : state.Replicas.Contains(Id) ? PartitionRole.Follower : PartitionRole.Removed;
            lock (_notifyLock)
            {
                foreach (var subscriber in _subscribers) subscriber(new PartitionRoleChange(topic, partition, role, state));
            }
        }

        public string ClusterId => "test";
        public int LocalNodeId => Id;
        public int ControllerId => 1;
        public IReadOnlyList<ClusterNode> Nodes => [.. _cluster.Nodes.Select(n => new ClusterNode(n.Id, "127.0.0.1", 9092, true))];
        public PartitionState? GetPartition(string topic, int partition) => _cluster.State(topic, partition);

        public IDisposable Subscribe(Action<PartitionRoleChange> onChange)
        {
            lock (_notifyLock) _subscribers.Add(onChange);
            return new Unsubscribe(() =>
            {
                lock (_notifyLock) _subscribers.Remove(onChange);
            });
        }

        public ValueTask<AlterPartitionResult> AlterPartitionAsync(AlterPartitionRequest request, CancellationToken cancellationToken = default) =>
            new(_cluster.AlterPartition(request));

        public ValueTask<TopicResult> CreateTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<TopicResult> DeleteTopicAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<TopicResult> CreatePartitionsAsync(string name, int newTotal, bool validateOnly, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
        public ValueTask<TopicResult> AlterConfigsAsync(string name, IReadOnlyList<(string Name, string? Value)> changes, bool replaceAll,
            bool validateOnly, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<ProducerIdBlock> AllocateProducerIdBlockAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<TopicResult> ReassignPartitionAsync(string topic, int partition, IReadOnlyList<int>? targetReplicas,
            CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public async ValueTask DisposeAsync()
        {
            await Manager.DisposeAsync();
            await Topics.DisposeAsync();
        }

        private sealed class Unsubscribe(Action action) : IDisposable
        {
            public void Dispose() => action();
        }
    }
}
