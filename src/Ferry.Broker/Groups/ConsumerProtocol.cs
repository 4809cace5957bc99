using System.Buffers.Binary;
using System.Text;

namespace Ferry.Broker.Groups;

/// <summary>
/// Reads the "consumer" protocol's member metadata and assignments, which the broker otherwise carries as
/// opaque bytes: only to show assignments to operators (DescribeGroups, lag) and to refuse OffsetDelete on a
/// subscribed topic. Malformed bytes are not an error here; the answer is then just "unknown".
/// </summary>
/// <remarks>
/// Both start with version int16, then (non-flexible encoding, every version so far):
/// subscription: topics [string] | user_data bytes | owned_partitions... (v1+) | generation (v2+) | rack (v3+);
/// assignment: assigned_partitions [topic string | partitions [int32]] | user_data bytes.
/// </remarks>
public static class ConsumerProtocol
{
    public const string ProtocolType = "consumer";

    public static bool TryReadSubscriptionTopics(ReadOnlySpan<byte> metadata, out List<string> topics)
    {
        topics = [];
        try
        {
            int p = 2;
            int count = ReadInt32(metadata, ref p);
            if (count < 0 || count > metadata.Length) return false;
            for (int i = 0; i < count; i++) topics.Add(ReadString(metadata, ref p));
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    public static bool TryReadAssignment(ReadOnlySpan<byte> assignment, out List<(string Topic, int Partition)> partitions)
    {
        partitions = [];
        if (assignment.IsEmpty) return true;
        try
        {
            int p = 2;
            int topicCount = ReadInt32(assignment, ref p);
            if (topicCount < 0 || topicCount > assignment.Length) return false;
            for (int t = 0; t < topicCount; t++)
            {
                string topic = ReadString(assignment, ref p);
                int count = ReadInt32(assignment, ref p);
                if (count < 0 || count > assignment.Length) return false;
                for (int i = 0; i < count; i++) partitions.Add((topic, ReadInt32(assignment, ref p)));
            }
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static int ReadInt32(ReadOnlySpan<byte> span, ref int p)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(span[p..]);
        p += 4;
        return value;
    }

    private static string ReadString(ReadOnlySpan<byte> span, ref int p)
    {
        short length = BinaryPrimitives.ReadInt16BigEndian(span[p..]);
        p += 2;
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(span));
        string value = Encoding.UTF8.GetString(span.Slice(p, length));
        p += length;
        return value;
    }
}
