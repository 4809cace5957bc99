using Ferry.Broker.Topics;

namespace Ferry.Admin;

/// <summary>
/// The consumer groups as the admin API and metrics see them: <see cref="IConsumerGroupAdmin"/> (when one
/// is registered) joined with the partitions' high watermarks for lag.
/// </summary>
internal sealed class ConsumerGroups(IServiceProvider services, TopicRegistry topics)
{
    public IConsumerGroupAdmin? Admin { get; } = services.GetService<IConsumerGroupAdmin>();

    public GroupOffsetInfo WithLag(string topic, int partition, long committed, string? metadata)
    {
        long end = topics.TryGet(topic, out var t) && t.TryGetPartition(partition) is { } p ? p.HighWatermark : -1;
        long lag = end < 0 || committed < 0 ? 0 : Math.Max(0, end - committed);
        return new GroupOffsetInfo(topic, partition, committed, end, lag, metadata);
    }

    public GroupDetail? Describe(string groupId)
    {
        var group = Admin?.DescribeGroup(groupId);
        if (group is null) return null;
        var offsets = group.Offsets
            .OrderBy(o => o.Topic, StringComparer.Ordinal).ThenBy(o => o.Partition)
            .Select(o => WithLag(o.Topic, o.Partition, o.Offset, o.Metadata)).ToList();
        var members = group.Members.Select(m => new GroupMemberInfo(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            m.Assignment.Select(a => $"{a.Topic}-{a.Partition}").ToList())).ToList();
        return new GroupDetail(group.GroupId, group.State, group.ProtocolType, group.Protocol, members, offsets, offsets.Sum(o => o.Lag));
    }
}

/// <summary><c>/api/groups</c>: list, describe (members, assignments, committed offsets, lag), delete, reset offsets.</summary>
internal static class GroupEndpoints
{
    public static IEndpointRouteBuilder MapGroupEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/groups", (ConsumerGroups groups) =>
        {
            if (groups.Admin is not { } admin) return NotAvailable();
            var list = admin.ListGroups().OrderBy(g => g.GroupId, StringComparer.Ordinal)
                .Select(g => new GroupSummary(g.GroupId, g.State, g.ProtocolType, g.MemberCount, groups.Describe(g.GroupId)?.TotalLag ?? 0))
                .ToList();
            return AdminResults.Json(list, FerryJsonContext.Api.ListGroupSummary);
        });

        endpoints.MapGet("/api/groups/{id}", (string id, ConsumerGroups groups) =>
        {
            if (groups.Admin is null) return NotAvailable();
            return groups.Describe(id) is { } detail ? AdminResults.Json(detail, FerryJsonContext.Api.GroupDetail) : UnknownGroup(id);
        });

        endpoints.MapDelete("/api/groups/{id}", (string id, ConsumerGroups groups) =>
        {
            if (groups.Admin is not { } admin) return NotAvailable();
            var result = admin.DeleteGroup(id);
            return result.Succeeded ? Results.NoContent() : FromResult(id, result);
        });

        endpoints.MapPost("/api/groups/{id}/offsets", async Task<IResult> (string id, HttpRequest request, ConsumerGroups groups, TopicRegistry topics) =>
        {
            if (groups.Admin is not { } admin) return NotAvailable();
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.ResetOffsetsRequest).ConfigureAwait(false);
            if (error is not null) return error;
            var current = admin.DescribeGroup(id);
            var targets = new List<(Partition Partition, long Committed)>();
            if (body!.Topic is { } topicName)
            {
                if (!topics.TryGet(topicName, out var topic)) return TopicEndpoints.UnknownTopic(topicName);
                foreach (int index in body.Partitions ?? Enumerable.Range(0, topic.Partitions.Count).ToList())
                {
                    if (topic.TryGetPartition(index) is not { } partition) return AdminResults.NotFound($"Topic '{topicName}' has no partition {index}.");
                    targets.Add((partition, Committed(current, topicName, index)));
                }
            }
            else
            {
                if (current is null) return UnknownGroup(id);
                foreach (var offset in current.Offsets)
                {
                    if (topics.TryGet(offset.Topic, out var topic) && topic.TryGetPartition(offset.Partition) is { } partition)
                        targets.Add((partition, offset.Offset));
                }
            }

            var changes = new List<GroupOffsetChange>();
            foreach (var (partition, committed) in targets)
            {
                long? offset = body.To switch
                {
                    "earliest" => partition.LogStartOffset,
                    "latest" => partition.HighWatermark,
                    "offset" when body.Value is { } v => Math.Clamp(v, partition.LogStartOffset, partition.HighWatermark),
                    "timestamp" when body.Value is { } ts => partition.FindOffsetByTimestamp(ts) ?? partition.HighWatermark,
                    "shift" when body.Value is { } by => Math.Clamp((committed < 0 ? partition.LogStartOffset : committed) + by,
                        partition.LogStartOffset, partition.HighWatermark),
                    _ => null,
                };
                if (offset is null) return AdminResults.BadRequest("'to' must be earliest, latest, offset, timestamp or shift (the last three with a value).");
                changes.Add(new GroupOffsetChange(partition.Topic, partition.Index, offset.Value));
            }
            if (changes.Count == 0) return AdminResults.BadRequest("No partitions to reset.");
            if (!body.DryRun && admin.ResetOffsets(id, changes) is { Succeeded: false } failed) return FromResult(id, failed);
            var result = changes.Select(c => groups.WithLag(c.Topic, c.Partition, c.Offset, null)).ToList();
            return AdminResults.Json(new ResetOffsetsResponse(id, body.DryRun, result), FerryJsonContext.Api.ResetOffsetsResponse);
        });
        return endpoints;
    }

    private static long Committed(ConsumerGroupDescription? group, string topic, int partition) =>
        group?.Offsets.FirstOrDefault(o => o.Topic == topic && o.Partition == partition)?.Offset ?? -1;

    private static IResult NotAvailable() => AdminResults.Error(StatusCodes.Status501NotImplemented,
        "Consumer groups are not available in this build of Ferry.");

    private static IResult UnknownGroup(string id) => AdminResults.NotFound($"Consumer group '{id}' does not exist.");

    private static IResult FromResult(string id, GroupAdminResult result) => result.Status switch
    {
        GroupAdminStatus.GroupNotFound => UnknownGroup(id),
        GroupAdminStatus.GroupNotEmpty => AdminResults.Conflict(result.Message ?? $"Consumer group '{id}' has active members."),
        _ => AdminResults.BadRequest(result.Message ?? result.Status.ToString()),
    };
}
