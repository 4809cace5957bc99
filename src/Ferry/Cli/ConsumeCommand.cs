using System.CommandLine;
using System.Globalization;
using System.Text;
using Ferry.Admin;

namespace Ferry.Cli;

/// <summary>
/// <c>ferry consume TOPIC</c>: prints the records of a topic from an offset, a timestamp or a group's committed
/// offsets, up to the end of each partition as it was when the command started (kcat <c>-e</c>), through a
/// kcat-like <c>--format</c>. It reads only: a group's offsets are not moved.
/// </summary>
internal static class ConsumeCommand
{
    private const int PageSize = 1000;

    public static Command Create()
    {
        var topic = new Argument<string>("topic") { Description = "Topic to read" };
        var partitions = new Option<int[]>("--partition", "-p") { Description = "Partition to read (repeatable; default all)" };
        var offset = new Option<string>("--offset", "-o")
        {
            Description = "Where to start: beginning, end, an offset, or -N for the last N records of each partition",
            DefaultValueFactory = _ => "beginning",
        };
        var timestamp = new Option<long?>("--from-timestamp", "-T") { Description = "Start at the first record at or after this time (ms since the epoch)", HelpName = "MS" };
        var group = new Option<string>("--group", "-g") { Description = "Start at this consumer group's committed offsets (beginning where it has none)" };
        var count = new Option<long?>("--count", "-c") { Description = "Stop after N records" };
        var format = new Option<string>("--format", "-f")
        {
            Description = "Output format: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), %h headers (k=v,...), %K/%S key/value size, \\n \\t \\\\ %%",
            DefaultValueFactory = _ => "%s\\n",
        };
        var command = new Command("consume", "Print records of a topic") { topic, partitions, offset, timestamp, group, count, format };
        command.WithAction(async (parse, context, ct) =>
        {
            string topicName = parse.GetValue(topic)!;
            int starts = (parse.GetResult(offset) is { Implicit: false } ? 1 : 0) + (parse.GetValue(timestamp) is null ? 0 : 1) + (parse.GetValue(group) is null ? 0 : 1);
            if (starts > 1) throw new UsageException("give one of --offset, --from-timestamp, --group");
            string offsetText = parse.GetValue(offset)!;
            // Kafka's -2/-1 mean beginning/end; kcat's -N (N before the end) is kept as -N-3 so it cannot collide with them.
            long? fixedOffset = offsetText switch
            {
                "beginning" => -2,
                "end" => -1,
                _ when long.TryParse(offsetText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long o) => o < 0 ? o - 3 : o,
                _ => throw new UsageException($"--offset must be beginning, end, a number or -N, not '{offsetText}'"),
            };
            var formatter = new RecordFormatter(topicName, parse.GetValue(format)!);
            long remaining = parse.GetValue(count) ?? long.MaxValue;

            var detail = await context.Client.GetAsync("api/topics/" + AdminClient.Escape(topicName), FerryJsonContext.Api.TopicDetail, ct).ConfigureAwait(false);
            var wanted = parse.GetValue(partitions) is { Length: > 0 } ps ? ps : detail.Partitions.Select(p => p.Partition).ToArray();
            Dictionary<int, long>? committed = null;
            if (parse.GetValue(group) is { } groupId)
            {
                var g = await context.Client.GetAsync("api/groups/" + AdminClient.Escape(groupId), FerryJsonContext.Api.GroupDetail, ct).ConfigureAwait(false);
                committed = g.Offsets.Where(o => o.Topic == topicName).ToDictionary(o => o.Partition, o => o.CommittedOffset);
            }

            var output = Console.Out;
            foreach (int partition in wanted)
            {
                var info = detail.Partitions.FirstOrDefault(p => p.Partition == partition)
                    ?? throw new AdminApiException(404, $"Topic '{topicName}' has no partition {partition}.");
                long end = info.HighWatermark;
                string query;
                if (parse.GetValue(timestamp) is { } ts) query = $"timestamp={ts}";
                else if (committed is not null) query = $"offset={(committed.TryGetValue(partition, out long c) && c >= 0 ? c : -2)}";
                else if (fixedOffset < -2) query = $"offset={Math.Max(info.LogStartOffset, end + fixedOffset.Value + 3)}";
                else query = $"offset={fixedOffset}";
                long previous = long.MinValue;
                while (remaining > 0)
                {
                    int max = (int)Math.Min(PageSize, remaining);
                    var page = await context.Client.GetAsync($"api/topics/{AdminClient.Escape(topicName)}/partitions/{partition}/records?{query}&max={max}",
                        FerryJsonContext.Api.RecordsResponse, ct).ConfigureAwait(false);
                    foreach (var record in page.Records)
                    {
                        if (record.Offset >= end || remaining == 0) break;
                        if (context.Json) await output.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(record, FerryJsonContext.Api.ConsumedRecord)).ConfigureAwait(false);
                        else await output.WriteAsync(formatter.Format(record)).ConfigureAwait(false);
                        remaining--;
                    }
                    if (page.NextOffset >= end || page.NextOffset == previous) break;
                    previous = page.NextOffset;
                    query = $"offset={page.NextOffset}";
                }
            }
            await output.FlushAsync(ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }
}

/// <summary>kcat's <c>-f</c> formats, the common subset.</summary>
internal sealed class RecordFormatter(string topic, string format)
{
    private readonly StringBuilder _builder = new();

    public string Format(ConsumedRecord record)
    {
        _builder.Clear();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (i + 1 < format.Length && (c == '%' || c == '\\'))
            {
                char next = format[++i];
                if (c == '\\')
                {
                    _builder.Append(next switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => next });
                    continue;
                }
                switch (next)
                {
                    case 't': _builder.Append(topic); break;
                    case 'p': _builder.Append(record.Partition.ToString(CultureInfo.InvariantCulture)); break;
                    case 'o': _builder.Append(record.Offset.ToString(CultureInfo.InvariantCulture)); break;
                    case 'k': _builder.Append(record.Key); break;
                    case 's': _builder.Append(record.Value); break;
                    case 'T': _builder.Append(record.Timestamp.ToString(CultureInfo.InvariantCulture)); break;
                    case 'K': _builder.Append((record.Key is null ? -1 : Encoding.UTF8.GetByteCount(record.Key)).ToString(CultureInfo.InvariantCulture)); break;
                    case 'S': _builder.Append((record.Value is null ? -1 : Encoding.UTF8.GetByteCount(record.Value)).ToString(CultureInfo.InvariantCulture)); break;
                    case 'h': _builder.AppendJoin(',', record.Headers.Select(h => $"{h.Key}={h.Value}")); break;
                    case '%': _builder.Append('%'); break;
                    default: _builder.Append('%').Append(next); break;
                }
                continue;
            }
            _builder.Append(c);
        }
        return _builder.ToString();
    }
}
