using System.Globalization;
using System.Text;
using Ferry.Broker.Metadata;

namespace Ferry.Broker.Topics;

/// <summary>
/// Kafka's <c>replication-offset-checkpoint</c>: the high watermark of every partition, written now and then and at a
/// clean shutdown, read at start. A replica's log can hold batches past the high watermark (not yet on every in-sync
/// replica, possibly never committed); a restarted node must not serve consumers above the last high watermark it
/// knew, until its leader (or, leading, its followers) tells it more. Same format as Kafka's file: a version line
/// (0), a count line, then one <c>TOPIC PARTITION OFFSET</c> line per partition.
/// </summary>
/// <remarks>Only replicated nodes keep it: a single node leads alone, so its whole log is committed (HW = log end).</remarks>
public static class HighWatermarkCheckpoint
{
    public const string FileName = "replication-offset-checkpoint";

    public static Dictionary<(string Topic, int Partition), long> Read(string path)
    {
        var result = new Dictionary<(string, int), long>();
        if (DurableFile.ReadAllBytes(path) is not { } bytes) return result;
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2 || lines[0] != "0") throw new InvalidDataException($"{path}: not a version 0 high-watermark checkpoint.");
        foreach (var line in lines.Skip(2))
        {
            var fields = line.Split(' ');
            if (fields.Length != 3 || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int partition)
                || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
                throw new InvalidDataException($"{path}: malformed line '{line}'.");
            result[(fields[0], partition)] = offset;
        }
        return result;
    }

    /// <summary>Replaces the file atomically (written whole, fsync'd, renamed), so a crash leaves the old or the new one.</summary>
    public static void Write(string path, IEnumerable<Topic> topics)
    {
        var entries = topics.SelectMany(t => t.Partitions.Select(p => (t.Name, p.Index, p.HighWatermark))).ToList();
        var text = new StringBuilder();
        text.Append("0\n").Append(entries.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var (topic, partition, offset) in entries)
            text.Append(CultureInfo.InvariantCulture, $"{topic} {partition} {offset}\n");
        DurableFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(text.ToString()));
    }
}
