namespace Ferry.Admin;

/// <summary>
/// What the admin API and <c>ferry groups</c> need from the consumer-group coordinator. The coordinator lives
/// in <c>Ferry.Broker/Groups</c>; the host adapts it to this interface and registers it as a singleton. With
/// none registered, the group endpoints answer 501 and the group metrics are absent.
/// </summary>
/// <remarks>
/// Lag is not asked of the coordinator: the host computes it from the committed offsets and the partitions'
/// high watermarks, so that one definition serves the API, the CLI and the <c>ferry.group.lag</c> gauge.
/// Every method may be called from any thread, concurrently with the Kafka group protocol.
/// </remarks>
internal interface IConsumerGroupAdmin
{
    /// <summary>Every group the coordinator knows, with or without members (groups that only have committed offsets too).</summary>
    IReadOnlyList<ConsumerGroupListing> ListGroups();

    /// <summary>The group's state, members with their assignments, and committed offsets; null if the group is unknown.</summary>
    ConsumerGroupDescription? DescribeGroup(string groupId);

    /// <summary>Deletes a group and its committed offsets. Fails with <see cref="GroupAdminStatus.GroupNotEmpty"/> while it has members (as Kafka's DeleteGroups).</summary>
    GroupAdminResult DeleteGroup(string groupId);

    /// <summary>
    /// Sets committed offsets (creating the group if it has none yet, as kafka-consumer-groups does), all or
    /// nothing. Fails with <see cref="GroupAdminStatus.GroupNotEmpty"/> while the group has members: their
    /// next commit would overwrite the reset. The host has already resolved earliest/latest/timestamp to offsets.
    /// </summary>
    GroupAdminResult ResetOffsets(string groupId, IReadOnlyList<GroupOffsetChange> offsets);
}

/// <param name="State">Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead.</param>
internal sealed record ConsumerGroupListing(string GroupId, string State, string ProtocolType, int MemberCount);

internal sealed record ConsumerGroupDescription(
    string GroupId,
    string State,
    string ProtocolType,
    string Protocol,
    IReadOnlyList<ConsumerGroupMember> Members,
    IReadOnlyList<CommittedOffset> Offsets);

internal sealed record ConsumerGroupMember(
    string MemberId,
    string? GroupInstanceId,
    string ClientId,
    string ClientHost,
    IReadOnlyList<TopicPartitionRef> Assignment);

internal readonly record struct TopicPartitionRef(string Topic, int Partition);

internal sealed record CommittedOffset(string Topic, int Partition, long Offset, string? Metadata);

internal readonly record struct GroupOffsetChange(string Topic, int Partition, long Offset);

internal enum GroupAdminStatus
{
    Ok,
    GroupNotFound,
    GroupNotEmpty,
    Invalid,
}

internal readonly record struct GroupAdminResult(GroupAdminStatus Status, string? Message = null)
{
    public static GroupAdminResult Ok => default;
    public bool Succeeded => Status == GroupAdminStatus.Ok;
}
