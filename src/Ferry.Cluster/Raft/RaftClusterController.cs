using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Controller;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Raft;

/// <summary>
/// This node's seat in the metadata quorum, on DotNext's Raft (TCP transport, write-ahead log flushed on commit):
/// the cluster view from the applied image, the controller requests (run here when this node leads the quorum,
/// forwarded to the leader otherwise), and, while leading, the liveness watch that fences unreachable nodes and
/// elects new partition leaders from the ISR.
/// </summary>
public sealed partial class RaftClusterController : IClusterView, IMetadataController, IAsyncDisposable
{
    /// <summary>The header a peer's forwarded request carries the shared secret in.</summary>
    public const string SecretHeader = "Ferry-Cluster-Secret";
    public const string ControllerPath = "/internal/cluster/controller";
    private static readonly TimeSpan RequestDeadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(200);

    private readonly ClusterOptions _options;
    private readonly TopicRegistry _topics;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly MetadataImage _image = new();

    /// <summary>
    /// How long a fenced node stays in Kafka Metadata (<see cref="ClusterNode.RecentlyFenced"/>): Kafka's
    /// broker.session.timeout.ms (9 s), the time a dead Kafka broker stays listed. Fencing itself stays immediate.
    /// </summary>
    private const long FencedListedMs = 9_000;

    /// <summary>When this node applied each node's fencing (its own clock), until the node registers again.</summary>
    private readonly ConcurrentDictionary<int, long> _fencedAt = new();
    private readonly SemaphoreSlim _leaderLock = new(1, 1);
    private readonly Lock _subscribersLock = new();
    private readonly List<Action<PartitionRoleChange>> _subscribers = [];
    private readonly Dictionary<int, long> _unreachableSince = [];
    private readonly HashSet<int> _probed = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly byte[] _secret;
    private MetadataStateMachine? _machine;
    private WriteAheadLog? _wal;
    private RaftCluster? _raft;
    private Task _watch = Task.CompletedTask;
    private int _disposed;
    private volatile bool _shuttingDown;

    public RaftClusterController(ClusterOptions options, TopicRegistry topics, ILoggerFactory loggerFactory)
    {
        _options = options;
        _topics = topics;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<RaftClusterController>();
        _secret = Encoding.UTF8.GetBytes(options.Secret);
    }

    public string ClusterId => _options.ClusterId;
    public int LocalNodeId => _options.NodeId;
    public MetadataImage Image => _image;

    /// <summary>True while this node leads the metadata quorum.</summary>
    public bool IsLeader => _raft is { } raft && !raft.LeadershipToken.IsCancellationRequested;

    public long Term => _raft?.Term ?? 0;

    public int ControllerId => _raft?.Leader is { } leader ? NodeIdOf(leader.EndPoint) : -1;

    public IReadOnlyList<ClusterNode> Nodes =>
        [.. _image.Nodes.Values.OrderBy(n => n.Id).Select(n => new ClusterNode(n.Id, n.KafkaHost, n.KafkaPort, !n.Fenced, n.KafkaSecurityProtocol,
            RecentlyFenced: n.Fenced && _fencedAt.TryGetValue(n.Id, out long at) && Environment.TickCount64 - at < FencedListedMs))];

    public PartitionState? GetPartition(string topic, int partition) =>
        _image.Topics.TryGetValue(topic, out var t) && (uint)partition < (uint)t.Partitions.Count ? t.Partitions[partition] : null;

    public IDisposable Subscribe(Action<PartitionRoleChange> onChange)
    {
        lock (_subscribersLock)
        {
            foreach (var topic in _image.Topics.Values)
            {
                for (int p = 0; p < topic.Partitions.Count; p++)
                {
                    if (RoleOf(topic.Partitions[p]) is { } role) onChange(new PartitionRoleChange(topic.Name, p, role, topic.Partitions[p]));
                }
            }
            _subscribers.Add(onChange);
        }
        return new Subscription(this, onChange);
    }

    /// <summary>How long one Raft request to a peer may take: three quarters of the lower election timeout.</summary>
    internal static TimeSpan PeerTimeout(ClusterOptions options) => TimeSpan.FromMilliseconds(options.LowerElectionTimeoutMs * 3 / 4);

    /// <summary>
    /// Checks the data directory belongs to this cluster and node, replays the committed metadata (snapshot, then log)
    /// into the image and the local topics, and joins the quorum.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ClusterIdentity.CheckOrCreate(_options);
        var machine = new MetadataStateMachine(new DirectoryInfo(Path.Combine(_options.Directory, "snapshots")), _image)
        {
            Applied = OnAppliedAsync,
            Restored = ReconcileAsync,
        };
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

    /// <summary>
    /// Kafka's controlled shutdown: before this node stops, the controller fences it, which moves each partition it
    /// leads to another in-sync replica and takes it out of every ISR; returns once this node has applied that (it
    /// then answers NOT_LEADER_OR_FOLLOWER, and clients move on at once), or after <paramref name="timeout"/>.
    /// </summary>
    public async Task ShutDownAsync(TimeSpan timeout)
    {
        _shuttingDown = true; // no re-registration once fenced
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var reply = await ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.ControlledShutdown, NodeId = _options.NodeId },
                deadline.Token).ConfigureAwait(false);
            ControlledShutdown(_logger, _options.NodeId, reply.Error == 0 ? "leaderships moved" : reply.Message ?? "refused");
        }
        catch (OperationCanceledException)
        {
            ControlledShutdown(_logger, _options.NodeId, "no controller answered in time");
        }
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
        _http.Dispose();
        _leaderLock.Dispose();
        _stopping.Dispose();
    }

    /// <summary>True when <paramref name="presented"/> is the cluster's shared secret (constant time).</summary>
    public bool IsPeerSecret(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _secret);

    // ---- IMetadataController: build the request, run it where the quorum leader is ----

    public async ValueTask<TopicResult> CreateTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.CreateTopic, Name = spec.Name, Partitions = spec.Partitions, ReplicationFactor = spec.ReplicationFactor,
            Assignments = spec.Assignments?.Select(a => a.ToList()).ToList(), Configs = spec.Configs?.ToDictionary(), ValidateOnly = spec.ValidateOnly,
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<TopicResult> DeleteTopicAsync(string name, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.DeleteTopic, Name = name }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<TopicResult> CreatePartitionsAsync(string name, int newTotal, bool validateOnly, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.CreatePartitions, Name = name, Partitions = newTotal, ValidateOnly = validateOnly,
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<TopicResult> AlterConfigsAsync(string name, IReadOnlyList<(string Name, string? Value)> changes, bool replaceAll,
        bool validateOnly, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.AlterConfigs, Name = name, Changes = changes.Select(c => new ConfigChange(c.Name, c.Value)).ToList(),
            ReplaceAll = replaceAll, ValidateOnly = validateOnly,
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<ProducerIdBlock> AllocateProducerIdBlockAsync(CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.AllocateProducerIds }, cancellationToken).ConfigureAwait(false);
        if (reply.ProducerIdCount <= 0) throw new InvalidOperationException(reply.Message ?? "No producer-id block was allocated.");
        return new ProducerIdBlock(reply.ProducerIdFirst, reply.ProducerIdCount);
    }

    public async ValueTask<AlterPartitionResult> AlterPartitionAsync(AlterPartitionRequest request, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.AlterPartition, Name = request.Topic, Partition = request.Partition, LeaderId = request.LeaderId,
            LeaderEpoch = request.LeaderEpoch, PartitionEpoch = request.PartitionEpoch, NewIsr = [.. request.NewIsr],
        }, cancellationToken).ConfigureAwait(false);
        return new AlterPartitionResult((AlterPartitionError)reply.Error, reply.State);
    }

    public async ValueTask<TopicResult> ReassignPartitionAsync(string topic, int partition, IReadOnlyList<int>? targetReplicas,
        CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.ReassignPartition, Name = topic, Partition = partition, Replicas = targetReplicas?.ToList(),
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    /// <summary>
    /// Runs a request on the quorum leader (here, or forwarded) and waits until this node has applied the result,
    /// so that the caller sees its own change. Retries while no leader is known, up to <see cref="RequestDeadline"/>.
    /// </summary>
    internal async Task<ControllerReply> ExecuteAsync(ControllerRequest request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        deadline.CancelAfter(RequestDeadline);
        var token = deadline.Token;
        try
        {
            while (true)
            {
                ControllerReply? reply = null;
                if (IsLeader) reply = await HandleAsLeaderAsync(request, token).ConfigureAwait(false);
                else if (LeaderHttpEndPoint() is { } leader) reply = await ForwardAsync(leader, request, token).ConfigureAwait(false);
                if (reply is { NotLeader: false })
                {
                    if (reply.AppliedIndex > 0 && _wal is { } wal) await wal.WaitForApplyAsync(reply.AppliedIndex, token).ConfigureAwait(false);
                    return reply;
                }
                await Task.Delay(100, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unavailable(request);
        }
    }

    private static ControllerReply Unavailable(ControllerRequest request) => new()
    {
        Error = request.Operation == ControllerOperation.AlterPartition ? (int)AlterPartitionError.NotController : (int)TopicError.InvalidConfig,
        Message = "No metadata controller is reachable (no quorum); try again.",
        Unavailable = true,
    };

    private string? LeaderHttpEndPoint() =>
        ControllerId is var id and >= 0 && _image.Nodes.TryGetValue(id, out var node) && node.HttpEndPoint.Length > 0 ? node.HttpEndPoint : null;

    private async Task<ControllerReply?> ForwardAsync(string leader, ControllerRequest request, CancellationToken token)
    {
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, leader + ControllerPath)
            {
                Content = JsonContent.Create(request, ControllerJsonContext.Default.ControllerRequest),
            };
            message.Headers.Add(SecretHeader, _options.Secret);
            using var response = await _http.SendAsync(message, token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                ForwardFailed(_logger, leader, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                return null;
            }
            return await response.Content.ReadFromJsonAsync(ControllerJsonContext.Default.ControllerReply, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !token.IsCancellationRequested)
        {
            ForwardFailed(_logger, leader, e.Message);
            return null;
        }
    }

    /// <summary>Runs a controller request on this node, the quorum leader; one at a time, so that checks and proposals do not interleave.</summary>
    public async Task<ControllerReply> HandleAsLeaderAsync(ControllerRequest request, CancellationToken token)
    {
        if (!IsLeader || _raft is not { } raft) return new ControllerReply { NotLeader = true };
        await _leaderLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            // Everything committed before this term must be applied here before deciding on it.
            await raft.ApplyReadBarrierAsync(token).ConfigureAwait(false);
            if (request.Operation == ControllerOperation.ControlledShutdown)
            {
                if (!_options.Voters.Any(v => v.NodeId == request.NodeId))
                    return new ControllerReply { Error = (int)TopicError.InvalidConfig, Message = $"Node {request.NodeId} is not a voter of this cluster." };
                if (_image.IsAlive(request.NodeId)) await FenceAsync(request.NodeId, token).ConfigureAwait(false);
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

    private (ControllerReply, List<MetadataRecord>) DecideRegister(ControllerRequest request)
    {
        if (!_options.Voters.Any(v => v.NodeId == request.NodeId))
            return (new ControllerReply { Error = (int)TopicError.InvalidConfig, Message = $"Node {request.NodeId} is not a voter of this cluster." }, []);
        var records = new List<MetadataRecord>
        {
            new() { Type = MetadataRecordType.RegisterNode, NodeId = request.NodeId, KafkaHost = request.KafkaHost, KafkaPort = request.KafkaPort,
                KafkaSecurityProtocol = request.KafkaSecurityProtocol, HttpEndPoint = request.HttpEndPoint },
        };
        return (new ControllerReply(), records);
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
                    if (NeedsRegistration() && Environment.TickCount64 >= nextRegistration)
                    {
                        nextRegistration = Environment.TickCount64 + 300;
                        await RegisterAsync(token).ConfigureAwait(false);
                    }
                    bool leader = IsLeader;
                    if (leader && !wasLeader)
                    {
                        _unreachableSince.Clear();
                        _probed.Clear();
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

    private bool NeedsRegistration() => !_shuttingDown && (
        !_image.Nodes.TryGetValue(_options.NodeId, out var self) || self.Fenced || self.KafkaHost != _options.KafkaHost
        || self.KafkaPort != _options.KafkaPort || self.KafkaSecurityProtocol != _options.KafkaSecurityProtocol || self.HttpEndPoint != _options.HttpEndPoint);

    private async Task RegisterAsync(CancellationToken token)
    {
        var request = new ControllerRequest
        {
            Operation = ControllerOperation.RegisterNode, NodeId = _options.NodeId, KafkaHost = _options.KafkaHost, KafkaPort = _options.KafkaPort,
            KafkaSecurityProtocol = _options.KafkaSecurityProtocol, HttpEndPoint = _options.HttpEndPoint,
        };
        ControllerReply? reply = null;
        if (IsLeader) reply = await HandleAsLeaderAsync(request, token).ConfigureAwait(false);
        else if (LeaderHttpEndPoint() is { } leader) reply = await ForwardAsync(leader, request, token).ConfigureAwait(false);
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

    // ---- Applying committed metadata to this node ----

    private PartitionRole? RoleOf(PartitionState state) =>
        state.Leader == _options.NodeId ? PartitionRole.Leader
        : state.Replicas.Contains(_options.NodeId) ? PartitionRole.Follower
        : null;

    /// <summary>Called after each applied security record (users, ACLs, vhosts, permissions), on the applier: the local vhosts follow.</summary>
    internal Func<MetadataRecord, ValueTask>? SecurityApplied { get; set; }

    /// <summary>Called after a snapshot replaced the image.</summary>
    internal Func<ValueTask>? SecurityRestored { get; set; }

    private async ValueTask OnAppliedAsync(MetadataRecord record)
    {
        if (SecurityImage.Handles(record.Type))
        {
            if (SecurityApplied is { } applied) await applied(record).ConfigureAwait(false);
            return;
        }
        string? name = record.Topic;
        switch (record.Type)
        {
            case MetadataRecordType.FenceNode:
                _fencedAt[record.NodeId] = Environment.TickCount64;
                break;
            case MetadataRecordType.RegisterNode:
                _fencedAt.TryRemove(record.NodeId, out _);
                break;
            case MetadataRecordType.CreateTopic when name is not null && _image.Topics.TryGetValue(name, out var created):
                Materialize(created);
                NotifyTopic(created);
                break;
            case MetadataRecordType.DeleteTopic when name is not null:
                if (_topics.TryGet(name, out var local))
                {
                    var removed = local.Partitions.Select(p => p.Index).ToList();
                    await _topics.DeleteAsync(name).ConfigureAwait(false);
                    foreach (int p in removed) Notify(new PartitionRoleChange(name, p, PartitionRole.Removed, null));
                }
                break;
            case MetadataRecordType.CreatePartitions when name is not null && _image.Topics.TryGetValue(name, out var grown):
                Materialize(grown);
                NotifyTopic(grown);
                break;
            case MetadataRecordType.AlterConfigs when name is not null && _image.Topics.TryGetValue(name, out var altered):
                _topics.AlterConfigs(name, altered.Configs.Select(c => (c.Key, (string?)c.Value)).ToList(), replaceAll: true, validateOnly: false);
                break;
            case MetadataRecordType.PartitionChange when name is not null && GetPartition(name, record.Partition) is { } state:
                if (RoleOf(state) is { } role) Notify(new PartitionRoleChange(name, record.Partition, role, state));
                // A reassignment that took this node off the partition: its fetcher stops.
                else if (record.Replicas is not null) Notify(new PartitionRoleChange(name, record.Partition, PartitionRole.Removed, state));
                break;
        }
    }

    /// <summary>After a snapshot: local topics become exactly the image's (deleted ones go, missing ones are created).</summary>
    private async ValueTask ReconcileAsync()
    {
        foreach (var topic in _topics.Topics.ToList())
        {
            if (!_image.Topics.TryGetValue(topic.Name, out var wanted) || wanted.Id != topic.Id) await _topics.DeleteAsync(topic.Name).ConfigureAwait(false);
        }
        foreach (var topic in _image.Topics.Values)
        {
            Materialize(topic);
            NotifyTopic(topic);
        }
        if (SecurityRestored is { } restored) await restored().ConfigureAwait(false);
    }

    /// <summary>
    /// Every node holds every partition's log directory (empty where it is not a replica), so that the handlers
    /// that look topics up locally answer alike on every node; data goes only to replicas.
    /// </summary>
    private void Materialize(TopicImage topic)
    {
        if (!_topics.TryGet(topic.Name, out var local))
        {
            var created = _topics.Create(topic.Name, topic.Partitions.Count, topic.Configs, topic.Id);
            if (!created.Succeeded) MaterializeFailed(_logger, topic.Name, created.Message);
            return;
        }
        if (local.Partitions.Count < topic.Partitions.Count) _topics.CreatePartitions(topic.Name, topic.Partitions.Count, validateOnly: false);
    }

    private void NotifyTopic(TopicImage topic)
    {
        for (int p = 0; p < topic.Partitions.Count; p++)
        {
            if (RoleOf(topic.Partitions[p]) is { } role) Notify(new PartitionRoleChange(topic.Name, p, role, topic.Partitions[p]));
        }
    }

    private void Notify(PartitionRoleChange change)
    {
        lock (_subscribersLock)
        {
            foreach (var subscriber in _subscribers) subscriber(change);
        }
    }

    private sealed class Subscription(RaftClusterController owner, Action<PartitionRoleChange> onChange) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._subscribersLock) owner._subscribers.Remove(onChange);
        }
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Node {NodeId} joined the metadata quorum at {EndPoint} ({Voters} voters, {Topics} topics replayed)")]
    private static partial void Started(ILogger logger, int nodeId, IPEndPoint endPoint, int voters, int topics);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Metadata leader is now node {Leader} (this is node {NodeId})")]
    private static partial void LeaderChanged(ILogger logger, int leader, int nodeId);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "Forwarding a controller request to {Leader} failed: {Reason}")]
    private static partial void ForwardFailed(ILogger logger, string leader, string reason);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Information, Message = "Node {NodeId} registered with the controller")]
    private static partial void Registered(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "Node {NodeId} unreachable for {Milliseconds} ms: fenced, its partitions get leaders from their ISR")]
    private static partial void NodeFenced(ILogger logger, int nodeId, long milliseconds);

    [LoggerMessage(EventId = 9009, Level = LogLevel.Warning, Message = "Node {NodeId} unreachable for {Milliseconds} ms and its Kafka port refuses connections: fenced, its partitions get leaders from their ISR")]
    private static partial void NodeRefused(ILogger logger, int nodeId, long milliseconds);

    [LoggerMessage(EventId = 9007, Level = LogLevel.Error, Message = "Committed topic {Topic} cannot be created on this node: {Reason}")]
    private static partial void MaterializeFailed(ILogger logger, string topic, string? reason);

    [LoggerMessage(EventId = 9008, Level = LogLevel.Information, Message = "Controlled shutdown of node {NodeId}: {Outcome}")]
    private static partial void ControlledShutdown(ILogger logger, int nodeId, string outcome);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Error, Message = "The controller's liveness watch failed; it retries")]
    private static partial void WatchFailed(ILogger logger, Exception exception);
}
