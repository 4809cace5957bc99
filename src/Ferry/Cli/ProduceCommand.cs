using System.CommandLine;
using System.Text;
using Ferry.Admin;
using Spectre.Console;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary>
/// <c>ferry produce TOPIC</c>: one record per line of stdin or a file, posted to the admin API in batches
/// (each answered after the records are durable, as acks=all).
/// </summary>
internal static class ProduceCommand
{
    private const int MaxRecordsPerRequest = 1000;
    private const int MaxBytesPerRequest = 256 * 1024;

    public static Command Create()
    {
        var topic = new Argument<string>("topic") { Description = "Topic to produce to" };
        var file = new Option<FileInfo>("--file", "-F") { Description = "Read lines from FILE instead of stdin", HelpName = "FILE" };
        var key = new Option<string>("--key", "-k") { Description = "Key of every record" };
        var separator = new Option<string>("--key-separator", "-K")
        {
            Description = "Split each line at the first SEP into key and value (kcat -K)",
            HelpName = "SEP",
        };
        var headers = new Option<string[]>("--header", "-H") { Description = "Header KEY=VALUE on every record (repeatable)", HelpName = "KEY=VALUE" };
        var partition = new Option<int?>("--partition", "-p") { Description = "Partition for every record (default: by key hash as Kafka does, else spread)" };
        var command = new Command("produce", "Produce one record per input line (empty lines are skipped)") { topic, file, key, separator, headers, partition };
        command.WithAction(async (parse, context, ct) =>
        {
            string topicName = parse.GetValue(topic)!;
            string? fixedKey = parse.GetValue(key);
            string? sep = parse.GetValue(separator);
            if (fixedKey is not null && sep is not null) throw new UsageException("give --key or --key-separator, not both");
            if (sep is { Length: 0 }) throw new UsageException("--key-separator must not be empty");
            var headerMap = Pairs(parse.GetValue(headers), "--header");
            int? fixedPartition = parse.GetValue(partition);
            var input = parse.GetValue(file);
            if (input is not null && !input.Exists) throw new UsageException($"no such file: {input.FullName}");

            using var reader = input is null ? new StreamReader(Console.OpenStandardInput(), Encoding.UTF8) : new StreamReader(input.FullName, Encoding.UTF8);
            var totals = new ProduceTotals();
            async Task RunAsync(Action<long>? progress)
            {
                var batch = new List<ProduceRecord>();
                int batchBytes = 0;
                while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
                {
                    if (line.Length == 0) continue;
                    string? recordKey = fixedKey;
                    string value = line;
                    if (sep is not null)
                    {
                        int at = line.IndexOf(sep, StringComparison.Ordinal);
                        if (at >= 0) (recordKey, value) = (line[..at], line[(at + sep.Length)..]);
                    }
                    batch.Add(new ProduceRecord(recordKey, value, headerMap.Count > 0 ? headerMap : null, fixedPartition));
                    batchBytes += line.Length;
                    if (batch.Count >= MaxRecordsPerRequest || batchBytes >= MaxBytesPerRequest)
                    {
                        await SendAsync(context, topicName, batch, totals, ct).ConfigureAwait(false);
                        progress?.Invoke(reader.BaseStream.Position);
                        batch.Clear();
                        batchBytes = 0;
                    }
                }
                if (batch.Count > 0) await SendAsync(context, topicName, batch, totals, ct).ConfigureAwait(false);
                progress?.Invoke(reader.BaseStream.Length);
            }

            if (input is not null && context.Interactive && input.Length > 4 * MaxBytesPerRequest)
            {
                await context.Console.Progress().AutoClear(true).StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Producing to {Markup.Escape(topicName)}", maxValue: input.Length);
                    await RunAsync(position => task.Value = position).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
            else
            {
                await RunAsync(null).ConfigureAwait(false);
            }

            var summary = new ProduceResponse(topicName, totals.Count, totals.Batches, totals.TopicCreated);
            if (context.Json) context.WriteJson(summary, FerryJsonContext.Api.ProduceResponse);
            else
            {
                var partitions = totals.Batches.Select(b => b.Partition).Distinct().Order().ToList();
                context.WriteLine($"Produced {Plural(totals.Count, "record")} to {(totals.TopicCreated ? "new topic " : "")}{topicName}"
                    + (partitions.Count > 0 ? $" (partition{(partitions.Count == 1 ? "" : "s")} {string.Join(",", partitions)})." : "."));
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task SendAsync(ClientContext context, string topic, List<ProduceRecord> records, ProduceTotals totals, CancellationToken ct)
    {
        var response = await context.Client.SendAsync(HttpMethod.Post, $"api/topics/{AdminClient.Escape(topic)}/records", new ProduceRequest(records),
            FerryJsonContext.Api.ProduceRequest, FerryJsonContext.Api.ProduceResponse, ct).ConfigureAwait(false);
        totals.Count += response.Count;
        totals.TopicCreated |= response.TopicCreated;
        totals.Batches.AddRange(response.Batches);
    }

    private sealed class ProduceTotals
    {
        public int Count { get; set; }
        public bool TopicCreated { get; set; }
        public List<ProducedBatch> Batches { get; } = [];
    }
}
