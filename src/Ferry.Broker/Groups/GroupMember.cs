namespace Ferry.Broker.Groups;

/// <summary>One member of a group. Owned by its group and touched only under the group's lock.</summary>
internal sealed class GroupMember(string memberId, JoinRequest request)
{
    public string MemberId { get; } = memberId;
    public string? GroupInstanceId { get; } = request.GroupInstanceId;
    public string ClientId { get; set; } = request.ClientId;
    public string ClientHost { get; set; } = request.ClientHost;
    public int SessionTimeoutMs { get; set; } = request.SessionTimeoutMs;
    public int RebalanceTimeoutMs { get; set; } = request.RebalanceTimeoutMs;
    public IReadOnlyList<MemberProtocol> Protocols { get; set; } = request.Protocols;

    /// <summary>What the leader assigned this member in the current generation (empty until SyncGroup).</summary>
    public byte[] Assignment { get; set; } = [];

    /// <summary>The member's JoinGroup waiting for the rebalance to complete, if any.</summary>
    public TaskCompletionSource<JoinResult>? JoinWaiter { get; set; }

    /// <summary>The member's SyncGroup waiting for the leader's assignment, if any.</summary>
    public TaskCompletionSource<SyncResult>? SyncWaiter { get; set; }

    /// <summary>Session expiry: fires at <see cref="SessionDeadlineMs"/> unless a heartbeat moved it.</summary>
    public ITimer? SessionTimer { get; set; }
    public long SessionDeadlineMs { get; set; }

    public bool IsAwaiting => JoinWaiter is not null || SyncWaiter is not null;

    public void Update(JoinRequest request)
    {
        ClientId = request.ClientId;
        ClientHost = request.ClientHost;
        SessionTimeoutMs = request.SessionTimeoutMs;
        RebalanceTimeoutMs = request.RebalanceTimeoutMs;
        Protocols = request.Protocols;
    }

    public bool SameProtocols(IReadOnlyList<MemberProtocol> protocols)
    {
        if (protocols.Count != Protocols.Count) return false;
        for (int i = 0; i < protocols.Count; i++)
        {
            if (protocols[i].Name != Protocols[i].Name || !protocols[i].Metadata.AsSpan().SequenceEqual(Protocols[i].Metadata)) return false;
        }
        return true;
    }

    public bool Supports(string protocol) => Protocols.Any(p => p.Name == protocol);

    public byte[] MetadataFor(string? protocol) => Protocols.FirstOrDefault(p => p.Name == protocol)?.Metadata ?? [];

    /// <summary>A fresh waiter for this member's JoinGroup; a previous one (a retried request) is answered first.</summary>
    public Task<JoinResult> AwaitJoin()
    {
        JoinWaiter?.TrySetResult(new JoinResult(GroupError.RebalanceInProgress, MemberId));
        JoinWaiter = new TaskCompletionSource<JoinResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        return JoinWaiter.Task;
    }

    /// <summary>Answers whatever the member is waiting for with <paramref name="error"/>.</summary>
    public void FailWaiters(GroupError error)
    {
        JoinWaiter?.TrySetResult(new JoinResult(error, MemberId));
        JoinWaiter = null;
        SyncWaiter?.TrySetResult(new SyncResult(error));
        SyncWaiter = null;
    }
}
