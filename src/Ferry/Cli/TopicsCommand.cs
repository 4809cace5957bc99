using System.CommandLine;
using Ferry.Admin;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary><c>ferry topics list|create|describe|delete|alter</c>.</summary>
internal static class TopicsCommand
{
    public static Command Create()
    {
        var list = new Command("list", "List topics").WithAction(async (_, context, ct) =>
        {
            var topics = await context.Client.GetAsync("api/topics", FerryJsonContext.Api.ListTopicSummary, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(topics, FerryJsonContext.Api.ListTopicSummary);
                return ExitCodes.Ok;
            }
            var table = NewTable("TOPIC", "PARTITIONS", "MESSAGES", "SIZE");
            foreach (var t in topics) table.Row(t.Name, t.Partitions, t.Messages, Bytes(t.SizeBytes));
            context.Write(table);
            return ExitCodes.Ok;
        });

        var name = new Argument<string>("topic") { Description = "Topic name" };
        var partitions = new Option<int>("--partitions", "-p") { Description = "Number of partitions", DefaultValueFactory = _ => 1 };
        var configs = new Option<string[]>("--config", "-c") { Description = "Topic config KEY=VALUE (repeatable), e.g. retention.ms=86400000", HelpName = "KEY=VALUE" };
        var create = new Command("create", "Create a topic") { name, partitions, configs }.WithAction(async (parse, context, ct) =>
        {
            var request = new CreateTopicRequest(parse.GetValue(name)!, parse.GetValue(partitions), Pairs(parse.GetValue(configs), "--config"));
            var topic = await context.Client.SendAsync(HttpMethod.Post, "api/topics", request, FerryJsonContext.Api.CreateTopicRequest,
                FerryJsonContext.Api.TopicDetail, ct).ConfigureAwait(false);
            if (context.Json) context.WriteJson(topic, FerryJsonContext.Api.TopicDetail);
            else context.WriteLine($"Created topic {topic.Name} with {Plural(topic.Partitions.Count, "partition")}.");
            return ExitCodes.Ok;
        });

        var describe = new Command("describe", "Show a topic's partitions, offsets, sizes and configs") { name }.WithAction(async (parse, context, ct) =>
        {
            var topic = await context.Client.GetAsync("api/topics/" + AdminClient.Escape(parse.GetValue(name)!), FerryJsonContext.Api.TopicDetail, ct)
                .ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(topic, FerryJsonContext.Api.TopicDetail);
                return ExitCodes.Ok;
            }
            context.WriteLine($"Topic {topic.Name}  id {topic.Id}  partitions {topic.Partitions.Count}  in {Rate(topic.Rates.MessagesInPerSecond)} msg/s  out {Rate(topic.Rates.MessagesOutPerSecond)} msg/s");
            var table = NewTable("PARTITION", "LEADER", "EPOCH", "START", "END", "MESSAGES", "SIZE", "SEGMENTS");
            foreach (var p in topic.Partitions) table.Row(p.Partition, p.Leader, p.LeaderEpoch, p.LogStartOffset, p.HighWatermark, p.Messages, Bytes(p.SizeBytes), p.Segments);
            context.Write(table);
            var configTable = NewTable("CONFIG", "VALUE", "SOURCE");
            foreach (var c in topic.Configs) configTable.Row(c.Name, c.Value, c.Source);
            context.Write(configTable);
            return ExitCodes.Ok;
        });

        var delete = new Command("delete", "Delete a topic and its data") { name }.WithAction(async (parse, context, ct) =>
        {
            string topic = parse.GetValue(name)!;
            await context.Client.SendAsync(HttpMethod.Delete, "api/topics/" + AdminClient.Escape(topic), ct).ConfigureAwait(false);
            Done(context, $"Deleted topic {topic}.");
            return ExitCodes.Ok;
        });

        var set = new Option<string[]>("--set") { Description = "Set a config KEY=VALUE (repeatable)", HelpName = "KEY=VALUE" };
        var unset = new Option<string[]>("--delete") { Description = "Return a config to the broker default (repeatable)", HelpName = "KEY" };
        var grow = new Option<int?>("--partitions", "-p") { Description = "Raise the partition count to N" };
        var alter = new Command("alter", "Change a topic's configs or add partitions") { name, set, unset, grow }.WithAction(async (parse, context, ct) =>
        {
            var sets = Pairs(parse.GetValue(set), "--set");
            var deletes = parse.GetValue(unset)?.ToList() ?? [];
            int? count = parse.GetValue(grow);
            if (sets.Count == 0 && deletes.Count == 0 && count is null) throw new UsageException("nothing to alter: give --set, --delete or --partitions");
            string topicName = parse.GetValue(name)!;
            var topic = await context.Client.SendAsync(HttpMethod.Patch, "api/topics/" + AdminClient.Escape(topicName),
                new AlterTopicRequest(sets, deletes, count), FerryJsonContext.Api.AlterTopicRequest, FerryJsonContext.Api.TopicDetail, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(topic, FerryJsonContext.Api.TopicDetail);
                return ExitCodes.Ok;
            }
            context.WriteLine($"Altered topic {topic.Name}: {Plural(topic.Partitions.Count, "partition")}; overrides: "
                + string.Join(", ", topic.Configs.Where(c => c.Source == "topic").Select(c => $"{c.Name}={c.Value}").DefaultIfEmpty("none")) + ".");
            return ExitCodes.Ok;
        });

        return new Command("topics", "Manage topics") { list, create, describe, delete, alter };
    }
}
