using Ferry.Broker.Groups;

namespace Ferry.Admin;

/// <summary>
/// <c>GET /groups</c> and <c>GET /groups/{id}</c>: consumer groups for operators, with each member's
/// assignment and each committed offset's lag behind its partition's high watermark.
/// </summary>
internal static class GroupEndpoints
{
    public static IEndpointRouteBuilder MapGroupEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/groups", (GroupCoordinator groups) =>
            Results.Json(groups.SummarizeAll().Select(View).ToList(), FerryJsonContext.Default.ListGroupView));
        endpoints.MapGet("/groups/{id}", (string id, GroupCoordinator groups) =>
            groups.Summarize(id) is { } summary ? Results.Json(View(summary), FerryJsonContext.Default.GroupView) : Results.NotFound());
        return endpoints;
    }

    private static GroupView View(GroupSummary group) => new(
        group.GroupId,
        group.State.ToString(),
        group.GenerationId,
        group.ProtocolType,
        group.ProtocolName,
        group.LeaderId,
        group.Members.Select(m => new MemberView(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            m.Assignment.Select(a => new TopicPartitionView(a.Topic, a.Partition)).ToList())).ToList(),
        group.Offsets.Select(o => new OffsetView(o.Topic, o.Partition, o.CommittedOffset, o.Metadata, o.HighWatermark, o.Lag)).ToList(),
        group.Offsets.Where(o => o.Lag > 0).Sum(o => o.Lag));
}

internal sealed record GroupView(string GroupId, string State, int Generation, string? ProtocolType, string? Protocol,
    string? Leader, List<MemberView> Members, List<OffsetView> Offsets, long TotalLag);

internal sealed record MemberView(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, List<TopicPartitionView> Assignment);

internal sealed record TopicPartitionView(string Topic, int Partition);

internal sealed record OffsetView(string Topic, int Partition, long CommittedOffset, string? Metadata, long HighWatermark, long Lag);
