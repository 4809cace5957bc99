using System.Globalization;
using System.CommandLine;
using Ferry.Admin;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary><c>ferry queues list|purge|delete</c>, <c>ferry exchanges list</c>, <c>ferry bindings list</c>, <c>ferry connections list</c>.</summary>
internal static class QueuesCommand
{
    public static Command Queues()
    {
        var list = new Command("list", "List queues with their depth, consumers and rates").WithAction(async (_, context, ct) =>
        {
            var queues = await context.Client.GetAsync("api/queues", FerryJsonContext.Api.ListQueueInfo, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(queues, FerryJsonContext.Api.ListQueueInfo);
                return ExitCodes.Ok;
            }
            var table = NewTable("QUEUE", "TYPE", "LEADER", "MEMBERS", "IN SYNC", "DURABLE", "READY", "UNACKED", "CONSUMERS", "IN/S", "OUT/S");
            foreach (var q in queues)
                table.Row(q.Name, q.Type, q.Leader is { } leader ? leader.ToString(CultureInfo.InvariantCulture) : "-", Ids(q.Members), Ids(q.InSync),
                    q.Durable ? "yes" : "no", q.Ready, q.Unacked, q.Consumers, Rate(q.Rates.MessagesInPerSecond), Rate(q.Rates.MessagesOutPerSecond));
            context.Write(table);
            return ExitCodes.Ok;
        });

        var purge = new Command("purge", "Remove every ready message from a queue") { QueueArgument() };
        purge.WithAction(async (parse, context, ct) =>
        {
            string queue = parse.GetValue<string>("queue")!;
            var result = await context.Client.SendAsync(HttpMethod.Post, $"api/queues/{AdminClient.Escape(queue)}/purge",
                FerryJsonContext.Api.QueueOperationResult, ct).ConfigureAwait(false);
            if (context.Json) context.WriteJson(result, FerryJsonContext.Api.QueueOperationResult);
            else context.WriteLine($"Purged {Plural(result.Messages, "message")} from queue {queue}.");
            return ExitCodes.Ok;
        });

        var delete = new Command("delete", "Delete a queue and its messages") { QueueArgument() };
        delete.WithAction(async (parse, context, ct) =>
        {
            string queue = parse.GetValue<string>("queue")!;
            var result = await context.Client.SendAsync(HttpMethod.Delete, $"api/queues/{AdminClient.Escape(queue)}",
                FerryJsonContext.Api.QueueOperationResult, ct).ConfigureAwait(false);
            if (context.Json) context.WriteJson(result, FerryJsonContext.Api.QueueOperationResult);
            else context.WriteLine($"Deleted queue {queue} ({Plural(result.Messages, "message")}).");
            return ExitCodes.Ok;
        });

        return new Command("queues", "Manage AMQP queues") { list, purge, delete };
    }

    public static Command Exchanges()
    {
        var list = new Command("list", "List exchanges").WithAction(async (_, context, ct) =>
        {
            var exchanges = await context.Client.GetAsync("api/exchanges", FerryJsonContext.Api.ListExchangeInfo, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(exchanges, FerryJsonContext.Api.ListExchangeInfo);
                return ExitCodes.Ok;
            }
            var table = NewTable("EXCHANGE", "TYPE", "DURABLE", "AUTO-DELETE", "INTERNAL", "ALTERNATE");
            foreach (var x in exchanges) table.Row(DisplayExchange(x.Name), x.Type, x.Durable ? "yes" : "no", x.AutoDelete ? "yes" : "no", x.Internal ? "yes" : "no", x.AlternateExchange);
            context.Write(table);
            return ExitCodes.Ok;
        });
        return new Command("exchanges", "Show AMQP exchanges") { list };
    }

    /// <summary>The default exchange's empty name as RabbitMQ's management UI shows it.</summary>
    private static string DisplayExchange(string name) => name.Length == 0 ? "(AMQP default)" : name;

    public static Command Bindings()
    {
        var list = new Command("list", "List bindings").WithAction(async (_, context, ct) =>
        {
            var bindings = await context.Client.GetAsync("api/bindings", FerryJsonContext.Api.ListBindingInfo, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(bindings, FerryJsonContext.Api.ListBindingInfo);
                return ExitCodes.Ok;
            }
            var table = NewTable("SOURCE", "DESTINATION", "TYPE", "ROUTING KEY", "ARGUMENTS");
            foreach (var b in bindings)
                table.Row(DisplayExchange(b.Source), b.Destination, b.DestinationType, b.RoutingKey, string.Join(",", (b.Arguments ?? []).Select(a => $"{a.Key}={a.Value}")));
            context.Write(table);
            return ExitCodes.Ok;
        });
        return new Command("bindings", "Show AMQP bindings") { list };
    }

    public static Command Connections()
    {
        var list = new Command("list", "List client connections").WithAction(async (_, context, ct) =>
        {
            var connections = await context.Client.GetAsync("api/connections", FerryJsonContext.Api.ListConnectionInfo, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(connections, FerryJsonContext.Api.ListConnectionInfo);
                return ExitCodes.Ok;
            }
            var table = NewTable("ID", "PROTOCOL", "PEER", "CLIENT", "SOFTWARE", "SINCE");
            foreach (var c in connections)
                table.Row(c.Id, c.Protocol, c.Peer, c.ClientId, c.ClientSoftware, c.ConnectedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            context.Write(table);
            return ExitCodes.Ok;
        });
        return new Command("connections", "Show client connections (Kafka and AMQP)") { list };
    }

    private static string Ids(IReadOnlyList<int>? ids) => ids is null or { Count: 0 } ? "-" : string.Join(',', ids);

    private static Argument<string> QueueArgument() => new("queue") { Description = "Queue name" };
}
