using System.Net;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Controller;
using Ferry.Cluster.Observer;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Raft;

/// <summary>
/// This node's seat in the metadata quorum, on DotNext's Raft (TCP transport, write-ahead log flushed on commit):
/// the cluster view from the applied image, the controller requests (run here when this node leads the quorum,
/// forwarded to the leader otherwise), and, while leading, the liveness watch that fences unreachable nodes (voters
/// by DotNext's member status, broker-only nodes by their heartbeat sessions) and elects new partition leaders from
/// the ISR. It also serves broker-only nodes the committed metadata they fetch (ReadMetadataAsync).
/// </summary>
public sealed partial class RaftClusterController : ControllerRequestSender, IClusterView, IClusterMember, IAsyncDisposable
{
    /// <summary>Most entries one metadata fetch of a broker-only node returns.</summary>
    private const int FeedBatch = 500;
    private static readonly TimeSpan FeedWait = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(200);

    private readonly ClusterOptions _options;
    private readonly TopicRegistry _topics;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly MetadataApplier _applier;
    private readonly MetadataImage _image;
    private readonly SemaphoreSlim _leaderLock = new(1, 1);
    private readonly Dictionary<int, long> _unreachableSince = [];
    private readonly HashSet<int> _probed = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ControllerClient _client;
    private readonly BrokerSessions _sessions;
    private MetadataStateMachine? _machine;
    private WriteAheadLog? _wal;
    private RaftCluster? _raft;
    private Task _watch = Task.CompletedTask;
    private int _disposed;

    public RaftClusterController(ClusterOptions options, TopicRegistry topics, ILoggerFactory loggerFactory)
    {
        _options = options;
        _topics = topics;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<RaftClusterController>();
        _applier = new MetadataApplier(options.NodeId, topics, _logger, keepRecent: true);
        _client = new ControllerClient(options.Secret, _logger);
        _sessions = new BrokerSessions(options.SessionTimeout);
        _image = _applier.Image;
    }

    public string ClusterId => _options.ClusterId;
    public int LocalNodeId => _options.NodeId;
    public override MetadataImage Image => _image;

    internal override MetadataApplier Applier => _applier;

    /// <summary>True while this node leads the metadata quorum.</summary>
    public bool IsLeader => _raft is { } raft && !raft.LeadershipToken.IsCancellationRequested;

    public long Term => _raft?.Term ?? 0;

    public int ControllerId => _raft?.Leader is { } leader ? NodeIdOf(leader.EndPoint) : -1;

    public IReadOnlyList<ClusterNode> Nodes => _applier.Nodes;

    public PartitionState? GetPartition(string topic, int partition) => _applier.GetPartition(topic, partition);

    public IDisposable Subscribe(Action<PartitionRoleChange> onChange) => _applier.Subscribe(onChange);

    /// <summary>How long one Raft request to a peer may take: three quarters of the lower election timeout.</summary>
    internal static TimeSpan PeerTimeout(ClusterOptions options) => TimeSpan.FromMilliseconds(options.LowerElectionTimeoutMs * 3 / 4);

    /// <summary>
    /// Checks the data directory belongs to this cluster and node, replays the committed metadata (snapshot, then log)
    /// into the image and the local topics, and joins the quorum.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ClusterIdentity.CheckOrCreate(_options);
        var machine = new MetadataStateMachine(new DirectoryInfo(Path.Combine(_options.Directory, "snapshots")), _applier);
        await machine.RestoreAsync(cancellationToken).ConfigureAwait(false);
        // DotNext 6.12's WAL always flushes (fsync) appended and committed entries before CommitAsync returns
        // (Options.FlushOnCommit is obsolete: "always true"), so a committed change survives every node being killed
        // at once, or losing power. CRC-32 per entry makes a torn tail detectable.
        var wal = new WriteAheadLog(new WriteAheadLog.Options
        {
            Location = Path.Combine(_options.Directory, "wal"),
            HashAlgorithm = WriteAheadLog.IntegrityHashAlgorithm.Crc32,
        }, machine);
        // DotNext names a member by the address peers dial (its public end point); the listener may bind elsewhere.
        var configuration = new RaftCluster.TcpConfiguration(_options.ListenEndPoint ?? _options.Self.EndPoint)
        {
            PublicEndPoint = _options.Self.EndPoint,
            LowerElectionTimeout = _options.LowerElectionTimeoutMs,
            UpperElectionTimeout = _options.UpperElectionTimeoutMs,
            // DotNext's candidate counts its votes only once every member has answered or failed, and gives up at its
            // election timeout: a peer request bound longer than that lets one silent (paused or blackholed) voter
            // void every election, and the majority climbs terms without ever electing. So a request, TLS handshake
            // included, must fail inside the lower election timeout.
            RequestTimeout = PeerTimeout(_options),
            ConnectTimeout = PeerTimeout(_options),
            ColdStart = false,
            SslOptions = PeerCertificate.SslOptions(_options.Secret, _options.NodeId),
            ConfigurationStorage = null,
            LoggerFactory = _loggerFactory,
        };
        var members = ((InMemoryClusterConfigurationStorage<EndPoint>)configuration.ConfigurationStorage!).CreateInitialConfigurationBuilder();
        foreach (var voter in _options.Voters) members.Add(voter.EndPoint);
        members.Build();
        var raft = new RaftCluster(configuration) { AuditTrail = wal };
        raft.LeaderChanged += (_, leader) =>
        {
            if (_logger.IsEnabled(LogLevel.Information)) LeaderChanged(_logger, leader is null ? -1 : NodeIdOf(leader.EndPoint), _options.NodeId);
        };
        _machine = machine;
        _wal = wal;
        _raft = raft;
        await raft.StartAsync(cancellationToken).ConfigureAwait(false);
        _watch = WatchAsync(_stopping.Token);
        Started(_logger, _options.NodeId, _options.Self.EndPoint, _options.Voters.Count, _image.Topics.Count);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_raft is { } raft)
        {
            await raft.StopAsync(CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            raft.Dispose();
        }
        if (_wal is { } wal) await wal.DisposeAsync().ConfigureAwait(false);
        if (_machine is { } machine) await machine.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
        _leaderLock.Dispose();
        _stopping.Dispose();
    }

    /// <summary>True when <paramref name="presented"/> is the cluster's shared secret (constant time).</summary>
    public bool IsPeerSecret(string? presented) => _client.IsSecret(presented);

    // ---- IMetadataController (ControllerRequestSender): run here when leading, forwarded to the leader otherwise ----

    protected override CancellationToken Stopping => _stopping.Token;

    protected override ClusterOptions Options => _options;

    protected override ILogger Logger => _logger;

    protected override async Task<ControllerReply?> SendOnceAsync(ControllerRequest request, CancellationToken token) =>
        IsLeader ? await HandleAsLeaderAsync(request, token).ConfigureAwait(false)
        : LeaderHttpEndPoint() is { } leader ? await _client.ForwardAsync(leader, request, token).ConfigureAwait(false)
        : null;

    protected override Task WaitForAppliedAsync(long index, CancellationToken token) => _wal!.WaitForApplyAsync(index, token).AsTask();

    private string? LeaderHttpEndPoint() =>
        ControllerId is var id and >= 0 && _image.Nodes.TryGetValue(id, out var node) && node.HttpEndPoint.Length > 0 ? node.HttpEndPoint : null;

    /// <summary>
    /// A broker-only node fetching committed metadata (<see cref="ControllerClient.MetadataPath"/>): answers at once
    /// when entries after <paramref name="after"/> are applied here, else when one is or after <see cref="FeedWait"/>;
    /// null while this node cannot say (just restored a snapshot, nothing applied since).
    /// </summary>
    public async Task<MetadataFeedReply?> ReadMetadataAsync(long after, CancellationToken token)
    {
        if (_applier.AppliedIndex <= after)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
            wait.CancelAfter(FeedWait);
            try
            {
                await _applier.WaitForAppliedAsync(after + 1, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                // Nothing new within the wait: the answer says so (no records).
            }
        }
        return _applier.ReadAfter(after, FeedBatch, ClusterId, ControllerId);
    }

    /// <summary>Runs a controller request on this node, the quorum leader; one at a time, so that checks and proposals do not interleave.</summary>
    public async Task<ControllerReply> HandleAsLeaderAsync(ControllerRequest request, CancellationToken token)
    {
        if (!IsLeader || _raft is not { } raft) return new ControllerReply { NotLeader = true };
        // Heartbeats change no metadata: answered from the sessions alone, without the leader lock or a log round trip.
        if (request.Operation == ControllerOperation.Heartbeat) return Heartbeat(request);
        await _leaderLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            // Everything committed before this term must be applied here before deciding on it.
            await raft.ApplyReadBarrierAsync(token).ConfigureAwait(false);
            if (request.Operation == ControllerOperation.ControlledShutdown)
            {
                if (!IsVoter(request.NodeId) && !_image.Nodes.ContainsKey(request.NodeId))
                    return new ControllerReply { Error = (int)TopicError.InvalidConfig, Message = $"Node {request.NodeId} is neither a voter nor registered." };
                if (_image.IsAlive(request.NodeId)) await FenceAsync(request.NodeId, token).ConfigureAwait(false);
                _sessions.End(request.NodeId);
                return new ControllerReply { AppliedIndex = _wal!.LastCommittedEntryIndex };
            }
            var (reply, records) = Decide(request);
            if (records.Count > 0) await ProposeAsync(MetadataRecord.Of(records), token).ConfigureAwait(false);
            reply.AppliedIndex = _wal!.LastCommittedEntryIndex;
            return reply;
        }
        catch (InvalidOperationException) when (!IsLeader)
        {
            return new ControllerReply { NotLeader = true };
        }
        finally
        {
            _leaderLock.Release();
        }
    }

    private async Task ProposeAsync(MetadataRecord record, CancellationToken token)
    {
        await _raft!.ReplicateAsync(record.Serialize(), token: token).ConfigureAwait(false);
        await _wal!.WaitForApplyAsync(_wal.LastCommittedEntryIndex, token).ConfigureAwait(false);
    }

    private (ControllerReply Reply, List<MetadataRecord> Records) Decide(ControllerRequest request) => request.Operation switch
    {
        ControllerOperation.CreateTopic => DecideCreateTopic(request),
        ControllerOperation.DeleteTopic => DecideDeleteTopic(request),
        ControllerOperation.CreatePartitions => DecideCreatePartitions(request),
        ControllerOperation.AlterConfigs => DecideAlterConfigs(request),
        ControllerOperation.AllocateProducerIds => DecideProducerIds(),
        ControllerOperation.AlterPartition => DecideAlterPartition(request),
        ControllerOperation.RegisterNode => DecideRegister(request),
        ControllerOperation.ReassignPartition => DecideReassign(request),
        var security when SecurityRequests.Handles(security) => SecurityRequests.Decide(_image.Security, request),
        _ => (new ControllerReply { Error = (int)TopicError.InvalidConfig, Message = "Unknown controller operation." }, []),
    };

    private List<int> LiveNodes() => [.. _image.Nodes.Values.Where(n => !n.Fenced).Select(n => n.Id).Order()];

    private (ControllerReply, List<MetadataRecord>) DecideCreateTopic(ControllerRequest request)
    {
        string name = request.Name ?? "";
        var configs = request.Configs ?? [];
        var live = LiveNodes();
        int partitions = request.Assignments is { Count: > 0 } manual ? manual.Count : request.Partitions;
        var valid = _topics.Validate(name, partitions, configs);
        if (!valid.Succeeded) return (Reply(valid), []);
        List<List<int>> assignments;
        if (request.Assignments is { Count: > 0 } given)
        {
            int rf = given[0].Count;
            foreach (var replicas in given)
            {
                if (replicas.Count == 0 || replicas.Count != rf || replicas.Distinct().Count() != replicas.Count)
                    return (Reply(new(TopicError.InvalidReplicationFactor, "Every partition's assignment must list the same number of distinct brokers.")), []);
                if (replicas.FirstOrDefault(r => !_image.Nodes.ContainsKey(r)) is var unknown && !replicas.TrueForAll(_image.Nodes.ContainsKey))
                    return (Reply(new(TopicError.InvalidReplicationFactor, $"Assignment names broker {unknown}, which is not registered.")), []);
            }
            assignments = given;
        }
        else
        {
            // The default comes from the voter list, not from who has registered so far: a topic created in the first
            // seconds of a cluster (auto-creation, __consumer_offsets) must not be placed on fewer nodes than it will
            // have. Until enough nodes are alive the creation is refused, and the asker retries.
            int rf = request.ReplicationFactor == -1 ? Math.Min(3, _options.Voters.Count) : request.ReplicationFactor;
            if (rf < 1 || rf > live.Count)
                return (Reply(new(TopicError.InvalidReplicationFactor, request.ReplicationFactor == -1
                    ? $"Default replication factor {rf} needs {rf} live brokers; {live.Count} of {_options.Voters.Count} have registered so far."
                    : $"Replication factor: {rf} larger than available brokers: {live.Count}.")), []);
            assignments = Decisions.Place(live, name, 0, partitions, rf);
        }
        if (request.ValidateOnly) return (new ControllerReply(), []);
        // Kafka's advice made the default: with three or more copies, acks=all needs two of them (once the broker
        // accepts the setting: replication decides what values it can honour).
        if (assignments[0].Count >= 3 && !configs.ContainsKey(TopicConfig.MinInsyncReplicas))
        {
            var withMinIsr = new Dictionary<string, string>(configs) { [TopicConfig.MinInsyncReplicas] = "2" };
            if (_topics.Validate(name, partitions, withMinIsr).Succeeded) configs = withMinIsr;
        }
        var record = new MetadataRecord
        {
            Type = MetadataRecordType.CreateTopic, Topic = name, TopicId = Guid.NewGuid(), Assignments = assignments, Configs = configs,
        };
        return (new ControllerReply(), [record]);
    }

    private (ControllerReply, List<MetadataRecord>) DecideDeleteTopic(ControllerRequest request)
    {
        if (request.Name is not { } name || !_image.Topics.ContainsKey(name))
            return (Reply(new(TopicError.UnknownTopic, $"Topic '{request.Name}' does not exist.")), []);
        return (new ControllerReply(), [new MetadataRecord { Type = MetadataRecordType.DeleteTopic, Topic = name }]);
    }

    private (ControllerReply, List<MetadataRecord>) DecideCreatePartitions(ControllerRequest request)
    {
        var valid = _topics.CreatePartitions(request.Name ?? "", request.Partitions, validateOnly: true);
        if (!valid.Succeeded || request.ValidateOnly) return (Reply(valid), []);
        var topic = _image.Topics[request.Name!];
        int current = topic.Partitions.Count;
        int rf = topic.Partitions[0].Replicas.Count;
        var live = LiveNodes();
        if (rf > live.Count) return (Reply(new(TopicError.InvalidReplicationFactor, $"Replication factor: {rf} larger than available brokers: {live.Count}.")), []);
        var added = Decisions.Place(live, topic.Name, current, request.Partitions - current, rf);
        return (new ControllerReply(), [new MetadataRecord { Type = MetadataRecordType.CreatePartitions, Topic = topic.Name, Assignments = added }]);
    }

    private (ControllerReply, List<MetadataRecord>) DecideAlterConfigs(ControllerRequest request)
    {
        string name = request.Name ?? "";
        var changes = (request.Changes ?? []).Select(c => (c.Name, c.Value)).ToList();
        var valid = _topics.AlterConfigs(name, changes, request.ReplaceAll, validateOnly: true);
        if (!valid.Succeeded || request.ValidateOnly) return (Reply(valid), []);
        var configs = request.ReplaceAll ? [] : new Dictionary<string, string>(_image.Topics[name].Configs);
        foreach (var (config, value) in changes)
        {
            if (value is null) configs.Remove(config);
            else configs[config] = value;
        }
        return (new ControllerReply(), [new MetadataRecord { Type = MetadataRecordType.AlterConfigs, Topic = name, Configs = configs }]);
    }

    private (ControllerReply, List<MetadataRecord>) DecideProducerIds()
    {
        long first = _image.ProducerIdEnd;
        long count = SingleNodeCluster.ProducerIdBlockSize;
        return (new ControllerReply { ProducerIdFirst = first, ProducerIdCount = count },
            [new MetadataRecord { Type = MetadataRecordType.ProducerIds, ProducerIdEnd = first + count }]);
    }

    private (ControllerReply, List<MetadataRecord>) DecideAlterPartition(ControllerRequest request)
    {
        var result = Decisions.AlterPartition(_image, new AlterPartitionRequest(request.Name ?? "", request.Partition, request.LeaderId,
            request.LeaderEpoch, request.PartitionEpoch, request.NewIsr ?? []), out var record);
        return (new ControllerReply { Error = (int)result.Error, State = result.State }, record is null ? [] : [record]);
    }

    private (ControllerReply, List<MetadataRecord>) DecideReassign(ControllerRequest request)
    {
        var result = Decisions.Reassign(_image, request.Name ?? "", request.Partition, request.Replicas, out var record);
        return (Reply(result), record is null ? [] : [record]);
    }

    private bool IsVoter(int nodeId) => _options.Voters.Any(v => v.NodeId == nodeId);

    /// <summary>
    /// A voter registers by its id in the voter list; any other id is a broker-only node, accepted unless another
    /// live process holds it (<see cref="BrokerSessions.TryRegister"/>).
    /// </summary>
    private (ControllerReply, List<MetadataRecord>) DecideRegister(ControllerRequest request)
    {
        if (request.NodeId < 0) return (new ControllerReply { Error = (int)TopicError.InvalidConfig, Message = $"Node id {request.NodeId} is negative." }, []);
        if (!IsVoter(request.NodeId))
        {
            bool fenced = !_image.IsAlive(request.NodeId);
            if (!_sessions.TryRegister(request.NodeId, request.Incarnation, fenced, Environment.TickCount64))
            {
                DuplicateRegistration(_logger, request.NodeId);
                return (new ControllerReply
                {
                    Error = (int)TopicError.InvalidConfig,
                    Message = $"Node id {request.NodeId} is registered by another live process (duplicate broker registration).",
                }, []);
            }
        }
        var records = new List<MetadataRecord>
        {
            new() { Type = MetadataRecordType.RegisterNode, NodeId = request.NodeId, KafkaHost = request.KafkaHost, KafkaPort = request.KafkaPort,
                KafkaSecurityProtocol = request.KafkaSecurityProtocol, HttpEndPoint = request.HttpEndPoint },
        };
        return (new ControllerReply(), records);
    }

    private ControllerReply Heartbeat(ControllerRequest request)
    {
        if (!_image.Nodes.ContainsKey(request.NodeId) || IsVoter(request.NodeId))
            return new ControllerReply { Error = (int)TopicError.InvalidConfig, Message = $"Node {request.NodeId} is not a registered broker-only node." };
        if (!_sessions.Heartbeat(request.NodeId, request.Incarnation, Environment.TickCount64))
            return new ControllerReply { Error = (int)TopicError.InvalidConfig, Message = $"Node id {request.NodeId} is held by another process." };
        return new ControllerReply();
    }

    private static ControllerReply Reply(TopicResult result) => new() { Error = (int)result.Error, Message = result.Message };

    // ---- Liveness and elections (quorum leader), self-registration (every node) ----

    private async Task WatchAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        bool wasLeader = false;
        long nextRegistration = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                try
                {
                    if (NeedsRegistration(_image) && Environment.TickCount64 >= nextRegistration)
                    {
                        nextRegistration = Environment.TickCount64 + 300;
                        await RegisterAsync(token).ConfigureAwait(false);
                    }
                    bool leader = IsLeader;
                    if (leader && !wasLeader)
                    {
                        _unreachableSince.Clear();
                        _probed.Clear();
                        _sessions.Restart(Environment.TickCount64, _image.Nodes.Keys.Where(id => !IsVoter(id)));
                    }
                    wasLeader = leader;
                    if (leader) await SuperviseAsync(token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    WatchFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task RegisterAsync(CancellationToken token)
    {
        var reply = await SendOnceAsync(Registration(Guid.Empty), token).ConfigureAwait(false);
        if (reply is { NotLeader: false, Error: 0 }) Registered(_logger, _options.NodeId);
    }

    /// <summary>
    /// Fences a registered node the quorum leader has not reached for the session timeout (DotNext marks a member
    /// unavailable when its heartbeats fail), electing new leaders from the ISR; then brings leaderless partitions
    /// back and moves leadership to preferred replicas.
    /// </summary>
    private async Task SuperviseAsync(CancellationToken token)
    {
        var records = new List<MetadataRecord>();
        long now = Environment.TickCount64;
        foreach (var member in _raft!.Members)
        {
            if (!member.IsRemote) continue;
            int nodeId = NodeIdOf(member.EndPoint);
            if (nodeId < 0) continue;
            if (member.Status != ClusterMemberStatus.Unavailable)
            {
                _unreachableSince.Remove(nodeId);
                _probed.Remove(nodeId);
                continue;
            }
            if (!_unreachableSince.TryGetValue(nodeId, out long since)) _unreachableSince[nodeId] = since = now;
            if (!_image.IsAlive(nodeId)) continue;
            if (now - since < _options.SessionTimeout.TotalMilliseconds)
            {
                // Heartbeats failing and its registered Kafka listener refusing connections: no process is there (a
                // node still starting answers heartbeats, so it is never probed): fenced at once, not after the session
                // timeout. The Kafka port rather than the inter-node one: a probe that opened a half connection on the
                // Raft transport (a TLS handshake never finished) slowed the majority's election behind the fault proxies.
                // Once per spell of unreachability: a peer that is only cut off or slow is not dialled again and again.
                if (now - since < _options.RefusedFenceDelay.TotalMilliseconds || !_probed.Add(nodeId)
                    || !_image.Nodes.TryGetValue(nodeId, out var registered)
                    || !await PeerProbe.RefusesConnectionsAsync(new DnsEndPoint(registered.KafkaHost, registered.KafkaPort), ProbeTimeout, token)
                        .ConfigureAwait(false)) continue;
                NodeRefused(_logger, nodeId, now - since);
            }
            else NodeFenced(_logger, nodeId, now - since);
            records.Add(new MetadataRecord { Type = MetadataRecordType.FenceNode, NodeId = nodeId });
        }
        await SuperviseBrokersAsync(records, now, token).ConfigureAwait(false);
        if (records.Count == 0 && Decisions.CompleteReassignments(_image).Count == 0 && Decisions.Rebalance(_image).Count == 0) return;
        await _leaderLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            foreach (var fence in records) await FenceAsync(fence.NodeId, token).ConfigureAwait(false);
            if (Decisions.CompleteReassignments(_image) is { Count: > 0 } completed) await ProposeAsync(MetadataRecord.Of(completed), token).ConfigureAwait(false);
            if (Decisions.Rebalance(_image) is { Count: > 0 } changes) await ProposeAsync(MetadataRecord.Of(changes), token).ConfigureAwait(false);
        }
        finally
        {
            _leaderLock.Release();
        }
    }

    /// <summary>
    /// Broker-only nodes are not Raft members: one is fenced when its heartbeats stopped for the session timeout, or
    /// sooner when they stopped for a couple of heartbeat intervals and its Kafka port refuses connections (no process
    /// is there), probed once per spell of silence as the voters are.
    /// </summary>
    private async Task SuperviseBrokersAsync(List<MetadataRecord> records, long now, CancellationToken token)
    {
        foreach (var node in _image.Nodes.Values)
        {
            if (IsVoter(node.Id) || node.Fenced) continue;
            long silent = _sessions.SilentFor(node.Id, now);
            if (silent < _options.SessionTimeout.TotalMilliseconds)
            {
                if (silent < BrokerHeartbeat.RefusedAfter.TotalMilliseconds)
                {
                    _probed.Remove(node.Id);
                    continue;
                }
                if (!_probed.Add(node.Id)
                    || !await PeerProbe.RefusesConnectionsAsync(new DnsEndPoint(node.KafkaHost, node.KafkaPort), ProbeTimeout, token).ConfigureAwait(false)) continue;
                NodeRefused(_logger, node.Id, silent);
            }
            else NodeFenced(_logger, node.Id, silent);
            _sessions.End(node.Id);
            records.Add(new MetadataRecord { Type = MetadataRecordType.FenceNode, NodeId = node.Id });
        }
    }

    /// <summary>
    /// Fences a node and elects new leaders (from the ISR) for what it led, in one entry (one commit, and no moment
    /// where the node is gone but still named leader); under the leader lock.
    /// </summary>
    private async Task FenceAsync(int nodeId, CancellationToken token)
    {
        List<MetadataRecord> records = [new MetadataRecord { Type = MetadataRecordType.FenceNode, NodeId = nodeId }, .. Decisions.OnFenced(_image, nodeId)];
        await ProposeAsync(MetadataRecord.Of(records), token).ConfigureAwait(false);
    }

    private int NodeIdOf(EndPoint endPoint)
    {
        foreach (var voter in _options.Voters)
        {
            if (voter.EndPoint.Equals(endPoint)) return voter.NodeId;
        }
        return -1;
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Node {NodeId} joined the metadata quorum at {EndPoint} ({Voters} voters, {Topics} topics replayed)")]
    private static partial void Started(ILogger logger, int nodeId, IPEndPoint endPoint, int voters, int topics);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Metadata leader is now node {Leader} (this is node {NodeId})")]
    private static partial void LeaderChanged(ILogger logger, int leader, int nodeId);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Information, Message = "Node {NodeId} registered with the controller")]
    private static partial void Registered(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "Node {NodeId} unreachable for {Milliseconds} ms: fenced, its partitions get leaders from their ISR")]
    private static partial void NodeFenced(ILogger logger, int nodeId, long milliseconds);

    [LoggerMessage(EventId = 9009, Level = LogLevel.Warning, Message = "Node {NodeId} unreachable for {Milliseconds} ms and its Kafka port refuses connections: fenced, its partitions get leaders from their ISR")]
    private static partial void NodeRefused(ILogger logger, int nodeId, long milliseconds);

    [LoggerMessage(EventId = 9010, Level = LogLevel.Warning, Message = "Node {NodeId} asked to register while another live process holds that id: refused (duplicate broker registration)")]
    private static partial void DuplicateRegistration(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Error, Message = "The controller's liveness watch failed; it retries")]
    private static partial void WatchFailed(ILogger logger, Exception exception);
}
