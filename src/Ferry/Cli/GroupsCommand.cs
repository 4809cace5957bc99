using System.CommandLine;
using Ferry.Admin;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary><c>ferry groups list|describe|delete|reset-offsets</c>, after kafka-consumer-groups.</summary>
internal static class GroupsCommand
{
    public static Command Create()
    {
        var list = new Command("list", "List consumer groups").WithAction(async (_, context, ct) =>
        {
            var groups = await context.Client.GetAsync("api/groups", FerryJsonContext.Api.ListGroupSummary, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(groups, FerryJsonContext.Api.ListGroupSummary);
                return ExitCodes.Ok;
            }
            var table = NewTable("GROUP", "STATE", "PROTOCOL", "MEMBERS", "LAG");
            foreach (var g in groups) table.Row(g.GroupId, g.State, g.ProtocolType, g.Members, g.TotalLag);
            context.Write(table);
            return ExitCodes.Ok;
        });

        var describe = new Command("describe", "Show a group's members, assignments, committed offsets and lag") { GroupArgument() };
        describe.WithAction(async (parse, context, ct) =>
        {
            var group = await context.Client.GetAsync("api/groups/" + AdminClient.Escape(parse.GetValue<string>("group")!), FerryJsonContext.Api.GroupDetail, ct)
                .ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(group, FerryJsonContext.Api.GroupDetail);
                return ExitCodes.Ok;
            }
            context.WriteLine($"Group {group.GroupId}  state {group.State}  protocol {group.ProtocolType}/{group.Protocol}  members {group.Members.Count}  lag {group.TotalLag}");
            var members = NewTable("MEMBER", "CLIENT-ID", "HOST", "ASSIGNMENT");
            foreach (var m in group.Members) members.Row(m.MemberId, m.ClientId, m.ClientHost, string.Join(",", m.Assignment));
            context.Write(members);
            context.Write(OffsetsTable(group.Offsets));
            return ExitCodes.Ok;
        });

        var delete = new Command("delete", "Delete a group and its committed offsets (it must have no members)") { GroupArgument() };
        delete.WithAction(async (parse, context, ct) =>
        {
            string group = parse.GetValue<string>("group")!;
            await context.Client.SendAsync(HttpMethod.Delete, "api/groups/" + AdminClient.Escape(group), ct).ConfigureAwait(false);
            Done(context, $"Deleted group {group}.");
            return ExitCodes.Ok;
        });

        var topic = new Option<string>("--topic", "-t") { Description = "Topic to reset (default: every topic the group has offsets for)" };
        var partitions = new Option<int[]>("--partition", "-p") { Description = "Partition of --topic (repeatable; default all)" };
        var toEarliest = new Option<bool>("--to-earliest") { Description = "Reset to the log start" };
        var toLatest = new Option<bool>("--to-latest") { Description = "Reset to the log end" };
        var toOffset = new Option<long?>("--to-offset") { Description = "Reset to this offset (clamped to the log)" };
        var toTimestamp = new Option<long?>("--to-timestamp") { Description = "Reset to the first record at or after this time (ms since the epoch)" };
        var shiftBy = new Option<long?>("--shift-by") { Description = "Move the committed offsets by N (may be negative)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show the new offsets without committing them" };
        var reset = new Command("reset-offsets", "Set a group's committed offsets (the group must have no members)")
        {
            GroupArgument(), topic, partitions, toEarliest, toLatest, toOffset, toTimestamp, shiftBy, dryRun,
        };
        reset.WithAction(async (parse, context, ct) =>
        {
            var choices = new List<(string To, long? Value)>();
            if (parse.GetValue(toEarliest)) choices.Add(("earliest", null));
            if (parse.GetValue(toLatest)) choices.Add(("latest", null));
            if (parse.GetValue(toOffset) is { } o) choices.Add(("offset", o));
            if (parse.GetValue(toTimestamp) is { } ts) choices.Add(("timestamp", ts));
            if (parse.GetValue(shiftBy) is { } by) choices.Add(("shift", by));
            if (choices.Count != 1) throw new UsageException("give exactly one of --to-earliest, --to-latest, --to-offset, --to-timestamp, --shift-by");
            var partitionList = parse.GetValue(partitions) is { Length: > 0 } ps ? ps.ToList() : null;
            if (partitionList is not null && parse.GetValue(topic) is null) throw new UsageException("--partition needs --topic");
            var request = new ResetOffsetsRequest(parse.GetValue(topic), partitionList, choices[0].To, choices[0].Value, parse.GetValue(dryRun));
            string group = parse.GetValue<string>("group")!;
            var result = await context.Client.SendAsync(HttpMethod.Post, $"api/groups/{AdminClient.Escape(group)}/offsets", request,
                FerryJsonContext.Api.ResetOffsetsRequest, FerryJsonContext.Api.ResetOffsetsResponse, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(result, FerryJsonContext.Api.ResetOffsetsResponse);
                return ExitCodes.Ok;
            }
            context.WriteLine(result.DryRun ? $"Group {group} would be reset to (dry run, nothing committed):" : $"Reset group {group} to:");
            context.Write(OffsetsTable(result.Offsets));
            return ExitCodes.Ok;
        });

        return new Command("groups", "Manage consumer groups") { list, describe, delete, reset };
    }

    private static Argument<string> GroupArgument() => new("group") { Description = "Consumer group id" };

    private static Spectre.Console.Table OffsetsTable(List<GroupOffsetInfo> offsets)
    {
        var table = NewTable("TOPIC", "PARTITION", "COMMITTED", "END", "LAG");
        foreach (var o in offsets) table.Row(o.Topic, o.Partition, o.CommittedOffset, o.LogEndOffset, o.Lag);
        return table;
    }
}
