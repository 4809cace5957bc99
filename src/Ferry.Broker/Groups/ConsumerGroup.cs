using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Groups;

/// <summary>
/// One group: the classic group protocol's state machine (see <see cref="GroupState"/>) and the group's
/// committed offsets. Every method runs under <see cref="Lock"/>, taken by the coordinator; nothing here
/// blocks or awaits. Requests that must wait (JoinGroup until the rebalance completes, SyncGroup until the
/// leader assigns) get a task completed later from a request or a timer, as Kafka's purgatory does.
/// </summary>
/// <remarks>
/// Timers, not polling: each member has a session timer pushed forward by its heartbeats, and the group has
/// one rebalance timer that ends the join phase at the rebalance timeout (removing members that did not
/// rejoin) or after the initial delay. Timer callbacks take the lock and re-check the deadline, so a timer
/// that fires late or after a change does nothing wrong.
/// </remarks>
internal sealed partial class ConsumerGroup
{
    private readonly GroupCoordinator _coordinator;
    private readonly Dictionary<string, GroupMember> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _staticMembers = new(StringComparer.Ordinal);
    // Ids handed out with MEMBER_ID_REQUIRED, until the member joins with one or its session timeout passes.
    private readonly Dictionary<string, long> _pendingMembers = new(StringComparer.Ordinal);
    private ITimer? _rebalanceTimer;
    private long _joinNotBeforeMs;
    private long _joinDeadlineMs;
    // The join phase of an empty group's first rebalance, which waits group.initial.rebalance.delay.ms for more members.
    private bool _initialDelay;

    /// <param name="stateTimestampMs">When the group entered its state; null: now. A group rebuilt from its
    /// offsets at start passes 0, so that its expiry counts from its latest commit, not from the restart.</param>
    public ConsumerGroup(GroupCoordinator coordinator, string id, long? stateTimestampMs = null)
    {
        _coordinator = coordinator;
        Id = id;
        StateTimestampMs = stateTimestampMs ?? Now;
    }

    public Lock Lock { get; } = new();
    public string Id { get; }
    public GroupState State { get; private set; } = GroupState.Empty;
    public long StateTimestampMs { get; private set; }
    public int Generation { get; private set; }
    public string? ProtocolType { get; private set; }
    public string? ProtocolName { get; private set; }
    public string? LeaderId { get; private set; }
    public Dictionary<(string Topic, int Partition), CommittedOffset> Offsets { get; } = [];

    /// <summary>Offsets committed inside open transactions (TxnOffsetCommit), by producer id: invisible until the commit marker.</summary>
    public Dictionary<long, Dictionary<(string Topic, int Partition), CommittedOffset>> PendingTransactionalOffsets { get; } = [];

    /// <summary>
    /// Where in the offsets partition each key's latest write is (absent: loaded or never written). A commit enters
    /// <see cref="Offsets"/> only once committed, and only if no later write of its key got there first, since
    /// commits of one group can complete out of order.
    /// </summary>
    public Dictionary<(string Topic, int Partition), long> OffsetPositions { get; } = [];
    public IReadOnlyCollection<GroupMember> Members => _members.Values;
    public int MemberCount => _members.Count;

    private long Now => _coordinator.Time.GetUtcNow().ToUnixTimeMilliseconds();
    private ILogger Logger => _coordinator.Logger;

    private void SetState(GroupState state)
    {
        State = state;
        StateTimestampMs = Now;
    }

    // ---- JoinGroup ---------------------------------------------------------------------------------------

    public Task<JoinResult> Join(JoinRequest request)
    {
        if (!IsCompatible(request)) return Done(new JoinResult(GroupError.InconsistentGroupProtocol, request.MemberId));
        PrunePendingMembers();
        if (request.MemberId.Length == 0)
        {
            string memberId = NewMemberId(request.ClientId);
            if (request.GroupInstanceId is { } instanceId)
            {
                // Static members skip the member-id handshake: their instance id already names them.
                if (_staticMembers.TryGetValue(instanceId, out var oldId) && _members.TryGetValue(oldId, out var old))
                    return ReplaceStaticMember(old, memberId, request);
                return AddMemberAndRebalance(memberId, request);
            }
            if (request.RequireKnownMemberId)
            {
                _pendingMembers[memberId] = Now + request.SessionTimeoutMs;
                return Done(new JoinResult(GroupError.MemberIdRequired, memberId));
            }
            return AddMemberAndRebalance(memberId, request);
        }

        if (_pendingMembers.Remove(request.MemberId)) return AddMemberAndRebalance(request.MemberId, request);
        if (request.GroupInstanceId is { } instance && _staticMembers.TryGetValue(instance, out var mapped) && mapped != request.MemberId)
            return Done(new JoinResult(GroupError.FencedInstanceId, request.MemberId));
        if (!_members.TryGetValue(request.MemberId, out var member)) return Done(new JoinResult(GroupError.UnknownMemberId, request.MemberId));

        switch (State)
        {
            case GroupState.PreparingRebalance:
                member.Update(request);
                return AwaitJoinAndTryComplete(member);
            case GroupState.CompletingRebalance when member.SameProtocols(request.Protocols):
                // A retried join: the generation it is part of already formed.
                return Done(JoinResponseFor(member));
            case GroupState.Stable when member.MemberId != LeaderId && member.SameProtocols(request.Protocols):
                // A follower rejoining unchanged gets the current generation; only the leader (which may
                // have seen metadata change) or a changed subscription starts a rebalance, as in Kafka.
                return Done(JoinResponseFor(member));
            default:
                member.Update(request);
                var joined = member.AwaitJoin();
                PrepareRebalance(RebalanceReason.MemberChanged, member.MemberId, request.Reason);
                TryCompleteJoin();
                return joined;
        }
    }

    private bool IsCompatible(JoinRequest request)
    {
        if (request.ProtocolType.Length == 0 || request.Protocols.Count == 0) return false;
        if (_members.Count == 0) return true;
        if (request.ProtocolType != ProtocolType) return false;
        return request.Protocols.Any(p => _members.Values.All(m => m.MemberId == request.MemberId || m.Supports(p.Name)));
    }

    private static string NewMemberId(string clientId) => $"{clientId}-{Guid.NewGuid():D}";

    private void PrunePendingMembers()
    {
        if (_pendingMembers.Count == 0) return;
        long now = Now;
        foreach (var (id, deadline) in _pendingMembers.ToList())
        {
            if (deadline <= now) _pendingMembers.Remove(id);
        }
    }

    private Task<JoinResult> AddMemberAndRebalance(string memberId, JoinRequest request)
    {
        var member = new GroupMember(memberId, request);
        _members[memberId] = member;
        if (request.GroupInstanceId is { } instanceId) _staticMembers[instanceId] = memberId;
        if (_members.Count == 1) ProtocolType = request.ProtocolType;
        LeaderId ??= memberId;
        StartSession(member);
        var joined = member.AwaitJoin();
        if (State != GroupState.PreparingRebalance) PrepareRebalance(RebalanceReason.MemberJoined, memberId, request.Reason);
        else if (_initialDelay && Now < _joinNotBeforeMs) ExtendInitialDelay();
        TryCompleteJoin();
        return joined;
    }

    /// <summary>
    /// A static member came back with a new member id (a restarted process): the old id is fenced and the new
    /// one takes its place and its assignment. In a stable group whose protocol this does not change, that is
    /// all: no rebalance (KIP-345), even for the leader (KIP-814), as Kafka's coordinator does.
    /// </summary>
    private Task<JoinResult> ReplaceStaticMember(GroupMember old, string memberId, JoinRequest request)
    {
        bool wasLeader = LeaderId == old.MemberId;
        string oldId = old.MemberId;
        RemoveMemberOnly(old, GroupError.FencedInstanceId);
        var member = new GroupMember(memberId, request) { Assignment = old.Assignment };
        _members[memberId] = member;
        _staticMembers[request.GroupInstanceId!] = memberId;
        if (wasLeader || LeaderId is null) LeaderId = memberId;
        StartSession(member);
        StaticMemberReplaced(Logger, Id, request.GroupInstanceId!, oldId, memberId);
        switch (State)
        {
            case GroupState.Stable when SelectProtocol() == ProtocolName:
                if (!wasLeader) return Done(JoinResponseFor(member));
                // A v9+ leader gets the members (to watch their metadata) and is told not to assign anew.
                if (request.SupportsSkipAssignment) return Done(JoinResponseFor(member) with { SkipAssignment = true });
                // An older leader would assign anew if it learnt it leads: it is answered as a follower, with its
                // predecessor named leader, and its SyncGroup returns the assignment it had.
                return Done(new JoinResult(GroupError.None, memberId, Generation, ProtocolType, ProtocolName, oldId));
            case GroupState.PreparingRebalance:
                return AwaitJoinAndTryComplete(member);
            default:
                // A protocol change, or CompletingRebalance (the old member may be in the assignment being computed).
                var joined = member.AwaitJoin();
                PrepareRebalance(RebalanceReason.MemberChanged, memberId, request.Reason);
                TryCompleteJoin();
                return joined;
        }
    }

    private Task<JoinResult> AwaitJoinAndTryComplete(GroupMember member)
    {
        var joined = member.AwaitJoin();
        TryCompleteJoin();
        return joined;
    }

    /// <param name="clientReason">What the client said (JoinGroup v8+, LeaveGroup v5+), for the log as Kafka's.</param>
    private void PrepareRebalance(RebalanceReason reason, string memberId, string? clientReason = null)
    {
        if (State == GroupState.CompletingRebalance)
        {
            // The generation being formed is abandoned: members waiting for its assignment must rejoin.
            foreach (var member in _members.Values)
            {
                member.SyncWaiter?.TrySetResult(new SyncResult(GroupError.RebalanceInProgress));
                member.SyncWaiter = null;
            }
        }
        bool wasEmpty = State == GroupState.Empty;
        SetState(GroupState.PreparingRebalance);
        long now = Now;
        int timeout = _members.Count == 0 ? 0 : _members.Values.Max(m => m.RebalanceTimeoutMs);
        _joinDeadlineMs = now + timeout;
        _initialDelay = wasEmpty && _coordinator.Options.InitialRebalanceDelayMs > 0;
        _joinNotBeforeMs = _initialDelay ? now + Math.Min(_coordinator.Options.InitialRebalanceDelayMs, timeout) : now;
        ScheduleRebalanceTimer(_joinNotBeforeMs > now ? _joinNotBeforeMs : _joinDeadlineMs);
        RebalanceStarted(Logger, Id, reason, memberId, Generation, clientReason ?? "none given");
    }

    /// <summary>
    /// Each member that arrives during the first rebalance of an empty group waits the initial delay again, up
    /// to the rebalance timeout (Kafka's InitialDelayedJoin), so consumers starting together form one generation.
    /// </summary>
    private void ExtendInitialDelay()
    {
        _joinNotBeforeMs = Math.Min(Now + _coordinator.Options.InitialRebalanceDelayMs, _joinDeadlineMs);
        ScheduleRebalanceTimer(_joinNotBeforeMs);
    }

    private void ScheduleRebalanceTimer(long atMs)
    {
        var due = TimeSpan.FromMilliseconds(Math.Max(0, atMs - Now));
        if (_rebalanceTimer is null)
            _rebalanceTimer = _coordinator.Time.CreateTimer(static state => ((ConsumerGroup)state!).OnRebalanceTimer(), this, due, Timeout.InfiniteTimeSpan);
        else
            _rebalanceTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void OnRebalanceTimer()
    {
        lock (Lock)
        {
            if (State != GroupState.PreparingRebalance) return;
            long now = Now;
            if (now < _joinNotBeforeMs)
            {
                ScheduleRebalanceTimer(_joinNotBeforeMs);
                return;
            }
            if (AllMembersJoined() || now >= _joinDeadlineMs) CompleteJoin();
            else ScheduleRebalanceTimer(_joinDeadlineMs);
        }
    }

    private bool AllMembersJoined() => _members.Values.All(m => m.JoinWaiter is not null);

    private void TryCompleteJoin()
    {
        if (State != GroupState.PreparingRebalance || Now < _joinNotBeforeMs) return;
        if (AllMembersJoined()) CompleteJoin();
    }

    /// <summary>Ends the join phase: drops members that did not rejoin, starts the next generation, answers every JoinGroup.</summary>
    private void CompleteJoin()
    {
        foreach (var member in _members.Values.Where(m => m.JoinWaiter is null).ToList())
        {
            MemberDidNotRejoin(Logger, Id, member.MemberId);
            RemoveMemberOnly(member, GroupError.UnknownMemberId);
        }
        Generation++;
        if (_members.Count == 0)
        {
            ProtocolName = null;
            LeaderId = null;
            SetState(GroupState.Empty);
            GenerationFormed(Logger, Id, Generation, 0, "");
            return;
        }
        ProtocolName = SelectProtocol();
        if (LeaderId is null || !_members.ContainsKey(LeaderId)) LeaderId = _members.Keys.First();
        SetState(GroupState.CompletingRebalance);
        GenerationFormed(Logger, Id, Generation, _members.Count, ProtocolName);
        foreach (var member in _members.Values)
        {
            member.Assignment = [];
            var waiter = member.JoinWaiter!;
            member.JoinWaiter = null;
            Touch(member);
            waiter.TrySetResult(JoinResponseFor(member));
        }
    }

    /// <summary>The protocol every member supports that most members prefer (Kafka's vote), ties to the leader's order.</summary>
    private string SelectProtocol()
    {
        var first = LeaderId is not null && _members.TryGetValue(LeaderId, out var leader) ? leader : _members.Values.First();
        var candidates = first.Protocols.Select(p => p.Name).Where(name => _members.Values.All(m => m.Supports(name))).ToList();
        var votes = _members.Values
            .Select(m => m.Protocols.Select(p => p.Name).First(candidates.Contains))
            .GroupBy(name => name)
            .ToDictionary(g => g.Key, g => g.Count());
        return candidates.OrderByDescending(name => votes.GetValueOrDefault(name)).First();
    }

    private JoinResult JoinResponseFor(GroupMember member)
    {
        var members = member.MemberId == LeaderId
            ? _members.Values.Select(m => new JoinedMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(ProtocolName))).ToList()
            : [];
        return new JoinResult(GroupError.None, member.MemberId, Generation, ProtocolType, ProtocolName, LeaderId ?? "", members);
    }

    // ---- SyncGroup, Heartbeat, LeaveGroup ----------------------------------------------------------------

    public Task<SyncResult> Sync(int generation, string memberId, string? instanceId, string? protocolType, string? protocolName,
        IReadOnlyList<(string MemberId, byte[] Assignment)> assignments)
    {
        if (IsFenced(memberId, instanceId)) return Done(new SyncResult(GroupError.FencedInstanceId));
        if (!_members.TryGetValue(memberId, out var member)) return Done(new SyncResult(GroupError.UnknownMemberId));
        if (generation != Generation) return Done(new SyncResult(GroupError.IllegalGeneration));
        if ((protocolType is not null && protocolType != ProtocolType) || (protocolName is not null && protocolName != ProtocolName))
            return Done(new SyncResult(GroupError.InconsistentGroupProtocol));
        switch (State)
        {
            case GroupState.PreparingRebalance:
                return Done(new SyncResult(GroupError.RebalanceInProgress));
            case GroupState.Stable:
                Touch(member);
                return Done(new SyncResult(GroupError.None, ProtocolType, ProtocolName, member.Assignment));
            case GroupState.CompletingRebalance:
                Touch(member);
                member.SyncWaiter?.TrySetResult(new SyncResult(GroupError.RebalanceInProgress));
                member.SyncWaiter = new TaskCompletionSource<SyncResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                var synced = member.SyncWaiter.Task;
                if (memberId == LeaderId) CompleteSync(assignments);
                return synced;
            default:
                return Done(new SyncResult(GroupError.UnknownMemberId));
        }
    }

    /// <summary>The leader's assignment arrived: the generation is stable and every waiting member gets its share.</summary>
    private void CompleteSync(IReadOnlyList<(string MemberId, byte[] Assignment)> assignments)
    {
        foreach (var (memberId, assignment) in assignments)
        {
            if (_members.TryGetValue(memberId, out var assigned)) assigned.Assignment = assignment;
        }
        SetState(GroupState.Stable);
        foreach (var member in _members.Values)
        {
            member.SyncWaiter?.TrySetResult(new SyncResult(GroupError.None, ProtocolType, ProtocolName, member.Assignment));
            member.SyncWaiter = null;
        }
        GroupStable(Logger, Id, Generation);
    }

    public GroupError Heartbeat(int generation, string memberId, string? instanceId)
    {
        if (IsFenced(memberId, instanceId)) return GroupError.FencedInstanceId;
        if (!_members.TryGetValue(memberId, out var member) || State == GroupState.Empty) return GroupError.UnknownMemberId;
        if (generation != Generation) return GroupError.IllegalGeneration;
        Touch(member);
        return State == GroupState.PreparingRebalance ? GroupError.RebalanceInProgress : GroupError.None;
    }

    public GroupError Leave(string memberId, string? instanceId, string? reason)
    {
        GroupMember? member;
        if (instanceId is not null)
        {
            if (!_staticMembers.TryGetValue(instanceId, out var mapped)) return GroupError.UnknownMemberId;
            if (memberId.Length > 0 && mapped != memberId) return GroupError.FencedInstanceId;
            member = _members[mapped];
        }
        else if (!_members.TryGetValue(memberId, out member))
        {
            return _pendingMembers.Remove(memberId) ? GroupError.None : GroupError.UnknownMemberId;
        }
        MemberLeft(Logger, Id, member.MemberId, reason ?? "none given");
        RemoveMember(member, reason);
        return GroupError.None;
    }

    private bool IsFenced(string memberId, string? instanceId) =>
        instanceId is not null && _staticMembers.TryGetValue(instanceId, out var mapped) && mapped != memberId;

    /// <summary>Removes a member (left, expired) and rebalances the others.</summary>
    private void RemoveMember(GroupMember member, string? clientReason = null)
    {
        RemoveMemberOnly(member, GroupError.UnknownMemberId);
        switch (State)
        {
            case GroupState.Stable or GroupState.CompletingRebalance:
                PrepareRebalance(RebalanceReason.MemberRemoved, member.MemberId, clientReason);
                TryCompleteJoin();
                break;
            case GroupState.PreparingRebalance:
                TryCompleteJoin();
                break;
        }
    }

    private void RemoveMemberOnly(GroupMember member, GroupError answer)
    {
        _members.Remove(member.MemberId);
        if (member.GroupInstanceId is { } instanceId && _staticMembers.GetValueOrDefault(instanceId) == member.MemberId)
            _staticMembers.Remove(instanceId);
        member.SessionTimer?.Dispose();
        member.SessionTimer = null;
        member.FailWaiters(answer);
        if (LeaderId == member.MemberId) LeaderId = _members.Keys.FirstOrDefault();
    }

    // ---- Sessions ----------------------------------------------------------------------------------------

    private void StartSession(GroupMember member)
    {
        member.SessionDeadlineMs = Now + member.SessionTimeoutMs;
        member.SessionTimer = _coordinator.Time.CreateTimer(static state =>
        {
            var (group, m) = ((ConsumerGroup, GroupMember))state!;
            group.OnSessionTimer(m);
        }, (this, member), TimeSpan.FromMilliseconds(member.SessionTimeoutMs), Timeout.InfiniteTimeSpan);
    }

    /// <summary>A sign of life: pushes the member's session deadline out by its session timeout.</summary>
    private void Touch(GroupMember member)
    {
        member.SessionDeadlineMs = Now + member.SessionTimeoutMs;
        member.SessionTimer?.Change(TimeSpan.FromMilliseconds(member.SessionTimeoutMs), Timeout.InfiniteTimeSpan);
    }

    private void OnSessionTimer(GroupMember member)
    {
        lock (Lock)
        {
            if (!_members.TryGetValue(member.MemberId, out var current) || current != member) return;
            long now = Now;
            if (now < member.SessionDeadlineMs)
            {
                member.SessionTimer?.Change(TimeSpan.FromMilliseconds(member.SessionDeadlineMs - now), Timeout.InfiniteTimeSpan);
                return;
            }
            // A member blocked in JoinGroup or SyncGroup cannot heartbeat; the rebalance timeout bounds it instead.
            if (member.IsAwaiting)
            {
                Touch(member);
                return;
            }
            MemberExpired(Logger, Id, member.MemberId, member.SessionTimeoutMs);
            RemoveMember(member);
        }
    }

    // ---- Offsets and lifecycle ---------------------------------------------------------------------------

    /// <summary>
    /// Whether a commit from this member and generation is accepted, as Kafka's classic group: a standalone
    /// commit (generation -1, no member) only while the group is empty; members of the current generation in
    /// PreparingRebalance too (cooperative members keep committing while they rejoin).
    /// </summary>
    public GroupError ValidateCommit(int generation, string memberId, string? instanceId)
    {
        if (IsFenced(memberId, instanceId)) return GroupError.FencedInstanceId;
        if (generation < 0 && State == GroupState.Empty) return GroupError.None;
        if (State == GroupState.CompletingRebalance) return GroupError.RebalanceInProgress;
        if (!_members.ContainsKey(memberId)) return GroupError.UnknownMemberId;
        if (generation != Generation) return GroupError.IllegalGeneration;
        return GroupError.None;
    }

    /// <summary>Topics some member subscribes to (consumer protocol only), which OffsetDelete must leave alone.</summary>
    public HashSet<string> SubscribedTopics()
    {
        var topics = new HashSet<string>(StringComparer.Ordinal);
        if (ProtocolType != ConsumerProtocol.ProtocolType) return topics;
        foreach (var member in _members.Values)
        {
            if (ConsumerProtocol.TryReadSubscriptionTopics(member.MetadataFor(ProtocolName), out var subscribed)) topics.UnionWith(subscribed);
        }
        return topics;
    }

    /// <summary>When the group's offsets expire if it stays empty: retention after it emptied or its latest commit.</summary>
    public long EmptySinceMs => Math.Max(StateTimestampMs, Offsets.Count == 0 ? 0 : Offsets.Values.Max(o => o.CommitTimestamp));

    public void MarkDead()
    {
        SetState(GroupState.Dead);
        _rebalanceTimer?.Dispose();
        _rebalanceTimer = null;
    }

    /// <summary>
    /// At shutdown, or when this node stops coordinating the group: every waiting request is answered with
    /// <paramref name="error"/> (clients look for the coordinator again) so that connections can close, and timers stop.
    /// </summary>
    public void Shutdown(GroupError error = GroupError.CoordinatorNotAvailable)
    {
        _rebalanceTimer?.Dispose();
        _rebalanceTimer = null;
        foreach (var member in _members.Values)
        {
            member.SessionTimer?.Dispose();
            member.SessionTimer = null;
            member.FailWaiters(error);
        }
    }

    private static Task<T> Done<T>(T result) => Task.FromResult(result);

    internal enum RebalanceReason
    {
        MemberJoined,
        MemberChanged,
        MemberRemoved,
    }

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Group {GroupId} is rebalancing ({Reason}, member {MemberId}) after generation {Generation}; client reason: {ClientReason}")]
    private static partial void RebalanceStarted(ILogger logger, string groupId, RebalanceReason reason, string memberId, int generation, string clientReason);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Group {GroupId} formed generation {Generation} with {Members} members, protocol '{Protocol}'")]
    private static partial void GenerationFormed(ILogger logger, string groupId, int generation, int members, string protocol);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Debug, Message = "Group {GroupId} is stable at generation {Generation}")]
    private static partial void GroupStable(ILogger logger, string groupId, int generation);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Information, Message = "Group {GroupId}: member {MemberId} expired after its session timeout of {SessionTimeoutMs} ms")]
    private static partial void MemberExpired(ILogger logger, string groupId, string memberId, int sessionTimeoutMs);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Information, Message = "Group {GroupId}: member {MemberId} did not rejoin within the rebalance timeout and is removed")]
    private static partial void MemberDidNotRejoin(ILogger logger, string groupId, string memberId);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Information, Message = "Group {GroupId}: member {MemberId} left; client reason: {ClientReason}")]
    private static partial void MemberLeft(ILogger logger, string groupId, string memberId, string clientReason);

    [LoggerMessage(EventId = 2116, Level = LogLevel.Information, Message = "Group {GroupId}: static member {InstanceId} rejoined, {OldMemberId} replaced by {MemberId}")]
    private static partial void StaticMemberReplaced(ILogger logger, string groupId, string instanceId, string oldMemberId, string memberId);
}
