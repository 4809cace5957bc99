using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Controller;
using Ferry.Cluster.Raft;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Observer;

/// <summary>
/// A broker-only node (KRaft's broker role): started with a node id that is not in the voter list, it stays out of
/// the Raft group (a DotNext standby member would still vote and change the majority) and instead fetches the
/// committed metadata from a voter (<see cref="ControllerClient.MetadataPath"/>, long-polled, the controller's first),
/// applying it through the same <see cref="MetadataApplier"/> as the voters. Controller requests go to the quorum
/// leader over HTTP, and every reply is awaited until its index is applied here. It registers, then heartbeats; the
/// controller fences it when the heartbeats stop.
/// </summary>
public sealed partial class BrokerOnlyMember : ControllerRequestSender, IClusterView, IClusterMember, IAsyncDisposable
{
    /// <summary>How long start-up tries the <c>--join</c> nodes before it gives up (the node does not open its listeners).</summary>
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(10);

    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly MetadataApplier _applier;
    private readonly ControllerClient _client;
    private readonly CancellationTokenSource _stopping = new();
    /// <summary>This process's claim on the node id: two processes started with one id are told apart by it.</summary>
    private readonly Guid _incarnation = Guid.NewGuid();
    private volatile int _controllerId = -1;
    private int _nextSource;
    private Task _fetch = Task.CompletedTask;
    private Task _heartbeat = Task.CompletedTask;
    private int _disposed;

    public BrokerOnlyMember(ClusterOptions options, TopicRegistry topics, ILoggerFactory loggerFactory)
    {
        _options = options;
        _logger = loggerFactory.CreateLogger<BrokerOnlyMember>();
        _applier = new MetadataApplier(options.NodeId, topics, _logger);
        _client = new ControllerClient(options.Secret, _logger);
    }

    public string ClusterId => _options.ClusterId;
    public int LocalNodeId => _options.NodeId;
    public int ControllerId => _controllerId;
    public override MetadataImage Image => _applier.Image;

    internal override MetadataApplier Applier => _applier;
    public IReadOnlyList<ClusterNode> Nodes => _applier.Nodes;

    public PartitionState? GetPartition(string topic, int partition) => _applier.GetPartition(topic, partition);

    public IDisposable Subscribe(Action<PartitionRoleChange> onChange) => _applier.Subscribe(onChange);

    public bool IsPeerSecret(string? presented) => _client.IsSecret(presented);

    protected override ClusterOptions Options => _options;
    protected override ILogger Logger => _logger;
    protected override CancellationToken Stopping => _stopping.Token;

    protected override async Task<ControllerReply?> SendOnceAsync(ControllerRequest request, CancellationToken token) =>
        ControllerHttpEndPoint() is { } controller ? await _client.ForwardAsync(controller, request, token).ConfigureAwait(false) : null;

    protected override Task WaitForAppliedAsync(long index, CancellationToken token) => _applier.WaitForAppliedAsync(index, token);

    /// <summary>
    /// Catches up from a <c>--join</c> node, then registers, then keeps fetching and heartbeating in the background.
    /// Throws (the node does not start, so serves no metadata) when no join node answers with this cluster's
    /// metadata within <see cref="JoinTimeout"/>, or when the registration stays refused (another live process
    /// holds the id) past the session timeout.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ClusterIdentity.CheckOrCreate(_options);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var token = linked.Token;
        string source = await CatchUpAsync(token).ConfigureAwait(false);
        _fetch = FetchAsync(_stopping.Token);
        await RegisterAsync(token).ConfigureAwait(false);
        _heartbeat = HeartbeatAsync(_stopping.Token);
        Joined(_logger, _options.NodeId, source, _applier.AppliedIndex, _applier.Image.Topics.Count);
    }

    private async Task<string> CatchUpAsync(CancellationToken token)
    {
        long deadline = Environment.TickCount64 + (long)JoinTimeout.TotalMilliseconds;
        var failures = new List<string>();
        while (true)
        {
            failures.Clear();
            foreach (string url in _options.Join)
            {
                var (reply, failure) = await _client.FetchMetadataAsync(url, _applier.AppliedIndex, token).ConfigureAwait(false);
                if (reply is null)
                {
                    failures.Add($"{url}: {failure}");
                    MetadataUnavailable(_logger, url, failure ?? "no answer");
                    continue;
                }
                if (reply.ClusterId != _options.ClusterId)
                    throw new ClusterConfigurationException($"--join {url} is a node of cluster '{reply.ClusterId}', not of '{_options.ClusterId}'.");
                await ApplyAsync(reply).ConfigureAwait(false);
                while (reply is { More: true })
                {
                    (reply, _) = await _client.FetchMetadataAsync(url, _applier.AppliedIndex, token).ConfigureAwait(false);
                    if (reply is not null) await ApplyAsync(reply).ConfigureAwait(false);
                }
                return url;
            }
            if (Environment.TickCount64 >= deadline)
                throw new ClusterConfigurationException($"No --join node answered with the cluster's metadata within {JoinTimeout.TotalSeconds:0} s ({string.Join("; ", failures)}).");
            await Task.Delay(300, token).ConfigureAwait(false);
        }
    }

    /// <summary>Applies a voter's answer: its snapshot or its entries, skipping what is already applied here (a voter behind another).</summary>
    private async Task ApplyAsync(MetadataFeedReply reply)
    {
        if (reply.ControllerId >= 0 || _controllerId < 0) _controllerId = reply.ControllerId;
        if (reply.AppliedIndex <= _applier.AppliedIndex) return;
        if (reply.Snapshot is { } snapshot)
        {
            await _applier.RestoreAsync(snapshot, reply.AppliedIndex).ConfigureAwait(false);
            return;
        }
        foreach (var entry in reply.Records)
        {
            if (entry.Index > _applier.AppliedIndex) await _applier.ApplyAsync(entry.Index, entry.Record).ConfigureAwait(false);
        }
        if (reply.AppliedIndex > _applier.AppliedIndex) await _applier.ApplyAsync(reply.AppliedIndex, null).ConfigureAwait(false);
    }

    /// <summary>Fetches on, long-polled, from the controller when it is known, else in turn from the voters and the join nodes.</summary>
    /// <remarks>
    /// Nothing ends the loop but stopping: a node that stopped applying would go on serving stale metadata (old leaders,
    /// deleted topics) with nothing to show for it, so an unexpected failure is logged and the fetch tried again.
    /// </remarks>
    private async Task FetchAsync(CancellationToken token)
    {
        bool failing = false;
        while (!token.IsCancellationRequested)
        {
            try
            {
                string source = Source();
                var (reply, failure) = await _client.FetchMetadataAsync(source, _applier.AppliedIndex, token).ConfigureAwait(false);
                if (reply is null || reply.ClusterId != _options.ClusterId)
                {
                    if (!failing) MetadataUnavailable(_logger, source, failure ?? "another cluster");
                    failing = true;
                    _controllerId = -1;
                    _nextSource++;
                    await Task.Delay(200, token).ConfigureAwait(false);
                    continue;
                }
                failing = false;
                await ApplyAsync(reply).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return; // stopping
            }
            catch (Exception e)
            {
                FetchFailed(_logger, e);
                _nextSource++;
                try
                {
                    await Task.Delay(1000, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private string Source()
    {
        if (ControllerHttpEndPoint() is { } controller) return controller;
        var image = _applier.Image;
        var candidates = _options.Voters.Select(v => image.Nodes.TryGetValue(v.NodeId, out var n) ? n.HttpEndPoint : "")
            .Where(e => e.Length > 0).Concat(_options.Join).Distinct().ToList();
        return candidates[(int)((uint)_nextSource % (uint)candidates.Count)];
    }

    private string? ControllerHttpEndPoint() =>
        _controllerId is var id and >= 0 && _applier.Image.Nodes.TryGetValue(id, out var node) && node.HttpEndPoint.Length > 0 ? node.HttpEndPoint : null;

    /// <summary>
    /// Registers until the controller accepts and this node has applied it. A refusal (another live process holds
    /// the id) is retried for twice the session timeout and more, since a killed process's session outlives it that long.
    /// </summary>
    private async Task RegisterAsync(CancellationToken token)
    {
        // Twice the session timeout: the controller fences a silent node within one (plus its 200 ms watch), and a
        // controller elected meanwhile gives it one more; 3 s more for that election.
        long deadline = Environment.TickCount64 + (long)(_options.SessionTimeout * 2 + TimeSpan.FromSeconds(3)).TotalMilliseconds;
        string? refusal = null;
        while (Environment.TickCount64 < deadline)
        {
            var reply = await ExecuteAsync(Registration(_incarnation), token).ConfigureAwait(false);
            if (reply.Error == 0 && _applier.Image.IsAlive(_options.NodeId)) return;
            if (reply.Error != 0 && reply.Message != refusal)
            {
                refusal = reply.Message;
                RegistrationRefused(_logger, _options.NodeId, refusal ?? "refused");
            }
            await Task.Delay(300, token).ConfigureAwait(false);
        }
        throw new ClusterConfigurationException($"Node {_options.NodeId} could not register: {refusal ?? "no controller answered"}.");
    }

    /// <summary>Heartbeats every <see cref="BrokerHeartbeat.Interval"/>, and registers again once fenced (after a pause, a lost session).</summary>
    private async Task HeartbeatAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(BrokerHeartbeat.Interval);
        string? refusal = null;
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                if (ShuttingDown) continue;
                var request = NeedsRegistration(_applier.Image)
                    ? Registration(_incarnation)
                    : new ControllerRequest { Operation = ControllerOperation.Heartbeat, NodeId = _options.NodeId, Incarnation = _incarnation };
                var reply = await SendOnceAsync(request, token).ConfigureAwait(false);
                if (reply is { NotLeader: false, Error: not 0 } && reply.Message != refusal)
                {
                    refusal = reply.Message;
                    HeartbeatRefused(_logger, _options.NodeId, refusal ?? "refused");
                }
                else if (reply is { Error: 0 }) refusal = null;
                if (reply is { NotLeader: true }) _controllerId = -1;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _fetch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _client.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 9011, Level = LogLevel.Information, Message = "Node {NodeId} joined as a broker-only node (metadata from {Source}, index {Index}, {Topics} topics)")]
    private static partial void Joined(ILogger logger, int nodeId, string source, long index, int topics);

    [LoggerMessage(EventId = 9012, Level = LogLevel.Warning, Message = "Committed metadata from {Source} unavailable: {Reason}")]
    private static partial void MetadataUnavailable(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 9013, Level = LogLevel.Warning, Message = "Node {NodeId} registration refused: {Reason}; retrying")]
    private static partial void RegistrationRefused(ILogger logger, int nodeId, string reason);

    [LoggerMessage(EventId = 9014, Level = LogLevel.Warning, Message = "Node {NodeId} heartbeat refused: {Reason}")]
    private static partial void HeartbeatRefused(ILogger logger, int nodeId, string reason);

    [LoggerMessage(EventId = 9015, Level = LogLevel.Error, Message = "Fetching committed metadata failed; it is tried again in 1 s")]
    private static partial void FetchFailed(ILogger logger, Exception exception);
}
