namespace Ferry.Broker.Groups;

/// <summary>A protocol a joining member supports, in its order of preference, with the member's metadata for it.</summary>
public sealed record MemberProtocol(string Name, byte[] Metadata);

/// <summary>What JoinGroup carries to the coordinator.</summary>
public sealed record JoinRequest
{
    public required string GroupId { get; init; }
    public required string MemberId { get; init; }
    public string? GroupInstanceId { get; init; }
    public required string ClientId { get; init; }
    public required string ClientHost { get; init; }
    public required int SessionTimeoutMs { get; init; }
    public required int RebalanceTimeoutMs { get; init; }
    public required string ProtocolType { get; init; }
    public required IReadOnlyList<MemberProtocol> Protocols { get; init; }

    /// <summary>JoinGroup v4+: a member without an id is given one and must join again with it (KIP-394).</summary>
    public bool RequireKnownMemberId { get; init; }

    /// <summary>JoinGroup v9+: a leader may be told to skip the assignment it would otherwise compute (KIP-814).</summary>
    public bool SupportsSkipAssignment { get; init; }

    /// <summary>JoinGroup v8+: why the client (re)joins, for the log (KIP-800).</summary>
    public string? Reason { get; init; }
}

/// <summary>A member as the leader sees it in its JoinGroup response.</summary>
public sealed record JoinedMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

public sealed record JoinResult(
    GroupError Error,
    string MemberId,
    int GenerationId = -1,
    string? ProtocolType = null,
    string? ProtocolName = null,
    string LeaderId = "",
    IReadOnlyList<JoinedMember>? Members = null,
    bool SkipAssignment = false)
{
    public IReadOnlyList<JoinedMember> Members { get; init; } = Members ?? [];
}

public sealed record SyncResult(GroupError Error, string? ProtocolType = null, string? ProtocolName = null, byte[]? Assignment = null)
{
    public byte[] Assignment { get; init; } = Assignment ?? [];
}

/// <summary>One member of a LeaveGroup request and its outcome.</summary>
public sealed record LeaveOutcome(string MemberId, string? GroupInstanceId, GroupError Error);

/// <summary>One partition of an OffsetCommit.</summary>
public sealed record OffsetCommitEntry(string Topic, int Partition, long Offset, int LeaderEpoch, string? Metadata);

/// <summary>A member as DescribeGroups shows it.</summary>
public sealed record MemberDescription(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost,
    byte[] Metadata, byte[] Assignment);

public sealed record GroupDescription(string GroupId, GroupState State, string ProtocolType, string ProtocolName,
    IReadOnlyList<MemberDescription> Members);

public sealed record GroupListing(string GroupId, string ProtocolType, GroupState State);

/// <summary>A committed offset of a group against its partition's high watermark (-1 when unknown).</summary>
public sealed record PartitionLag(string Topic, int Partition, long CommittedOffset, string? Metadata, long HighWatermark, long Lag);

/// <summary>A member and the partitions it was assigned (decoded from the consumer protocol when it can be).</summary>
public sealed record MemberSummary(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost,
    IReadOnlyList<(string Topic, int Partition)> Assignment);

/// <summary>Everything an operator wants about a group: for the admin surface.</summary>
public sealed record GroupSummary(string GroupId, GroupState State, int GenerationId, string? ProtocolType,
    string? ProtocolName, string? LeaderId, IReadOnlyList<MemberSummary> Members, IReadOnlyList<PartitionLag> Offsets);
