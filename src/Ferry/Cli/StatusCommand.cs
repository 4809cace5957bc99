using System.CommandLine;
using System.Globalization;
using Ferry.Admin;
using Spectre.Console;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary><c>ferry status</c>: is the broker up, and what is it doing.</summary>
internal static class StatusCommand
{
    public static Command Create() => new Command("status", "Show the broker's version, uptime, listeners, counts and message rates").WithAction(async (_, context, ct) =>
    {
        var o = await context.Client.GetAsync("api/overview", FerryJsonContext.Api.Overview, ct).ConfigureAwait(false);
        if (context.Json)
        {
            context.WriteJson(o, FerryJsonContext.Api.Overview);
            return ExitCodes.Ok;
        }
        var grid = new Grid().AddColumn().AddColumn();
        void Line(string label, string value) => grid.AddRow(new Text(label), new Text(value));
        Line("Broker", $"Ferry {o.Version} at {context.Client.Server}");
        Line("Uptime", TimeSpan.FromSeconds(Math.Floor(o.UptimeSeconds)).ToString("c", CultureInfo.InvariantCulture));
        Line("Data", o.DataDirectory);
        Line("Listeners", $"kafka {o.Listeners.Kafka}  amqp {o.Listeners.Amqp}  http {o.Listeners.Http}");
        Line("Topics", $"{o.Counts.Topics} ({Plural(o.Counts.Partitions, "partition")})");
        Line("Queues", $"{o.Counts.Queues}  exchanges {o.Counts.Exchanges}");
        Line("Groups", o.Counts.Groups?.ToString(CultureInfo.InvariantCulture) ?? "not available");
        Line("Connections", o.Counts.Connections.ToString(CultureInfo.InvariantCulture));
        Line("Topic traffic", $"in {Rate(o.Topics.MessagesInPerSecond)} msg/s ({Bytes((long)o.Topics.BytesInPerSecond)}/s)  out {Rate(o.Topics.MessagesOutPerSecond)} msg/s ({Bytes((long)o.Topics.BytesOutPerSecond)}/s)");
        Line("Queue traffic", $"in {Rate(o.Queues.MessagesInPerSecond)} msg/s  out {Rate(o.Queues.MessagesOutPerSecond)} msg/s");
        context.Write(grid);
        return ExitCodes.Ok;
    });
}
