using Ferry.Broker.Groups;

namespace Ferry.Admin;

/// <summary>The admin surface's view of consumer groups, over the Kafka group coordinator.</summary>
internal sealed class CoordinatorGroupAdmin(GroupCoordinator coordinator) : IConsumerGroupAdmin
{
    public IReadOnlyList<ConsumerGroupListing> ListGroups() =>
        coordinator.SummarizeAll()
            .Where(g => g.State != GroupState.Dead)
            .Select(g => new ConsumerGroupListing(g.GroupId, g.State.ToString(), g.ProtocolType ?? "", g.Members.Count))
            .ToList();

    public ConsumerGroupDescription? DescribeGroup(string groupId)
    {
        if (coordinator.Summarize(groupId) is not { State: not GroupState.Dead } group) return null;
        var members = group.Members.Select(m => new ConsumerGroupMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            m.Assignment.Select(a => new TopicPartitionRef(a.Topic, a.Partition)).ToList())).ToList();
        var offsets = group.Offsets.Select(o => new CommittedOffset(o.Topic, o.Partition, o.CommittedOffset, o.Metadata)).ToList();
        return new ConsumerGroupDescription(group.GroupId, group.State.ToString(), group.ProtocolType ?? "", group.ProtocolName ?? "", members, offsets);
    }

    public GroupAdminResult DeleteGroup(string groupId)
    {
        // Admin calls are rare and small: waiting here for the offsets log's fsync is fine.
        var (_, error) = coordinator.DeleteGroupsAsync([groupId]).GetAwaiter().GetResult().Single();
        return error switch
        {
            GroupError.None => new GroupAdminResult(GroupAdminStatus.Ok),
            GroupError.GroupIdNotFound => new GroupAdminResult(GroupAdminStatus.GroupNotFound, $"Group '{groupId}' does not exist."),
            GroupError.NonEmptyGroup => new GroupAdminResult(GroupAdminStatus.GroupNotEmpty, $"Group '{groupId}' has active members."),
            _ => new GroupAdminResult(GroupAdminStatus.Invalid, error.ToString()),
        };
    }

    public GroupAdminResult ResetOffsets(string groupId, IReadOnlyList<GroupOffsetChange> offsets)
    {
        if (coordinator.Summarize(groupId) is { Members.Count: > 0 })
            return new GroupAdminResult(GroupAdminStatus.GroupNotEmpty, $"Group '{groupId}' has active members; stop them before resetting offsets.");
        // A commit outside any generation (generation -1, no member) is what assign()-only consumers send,
        // and creates the group if it has no offsets yet.
        var entries = offsets.Select(o => new OffsetCommitEntry(o.Topic, o.Partition, o.Offset, -1, null)).ToList();
        var (error, partitions) = coordinator.CommitOffsetsAsync(groupId, -1, "", null, entries).GetAwaiter().GetResult();
        if (error == GroupError.None && partitions.All(p => p == GroupError.None)) return new GroupAdminResult(GroupAdminStatus.Ok);
        if (error is GroupError.IllegalGeneration or GroupError.UnknownMemberId or GroupError.RebalanceInProgress)
            return new GroupAdminResult(GroupAdminStatus.GroupNotEmpty, $"Group '{groupId}' has active members.");
        var failed = partitions.Select((e, i) => (e, i)).FirstOrDefault(p => p.e != GroupError.None);
        return new GroupAdminResult(GroupAdminStatus.Invalid,
            error != GroupError.None ? error.ToString() : $"{entries[failed.i].Topic}-{entries[failed.i].Partition}: {failed.e}");
    }
}
