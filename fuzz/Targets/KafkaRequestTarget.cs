using System.Buffers;
using System.Buffers.Binary;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Ferry.Storage.Records;

namespace Ferry.Fuzz.Targets;

/// <summary>
/// The bytes a Kafka client sends, as the connection handler reads them: size-prefixed frames (KafkaFrame, with
/// the 100 MiB default limit), then per frame the API key and version, the request header at the version's
/// header version, and the body through the generated codec of that API at that version, for every API the
/// codecs know and every version their schema defines (Ferry parses the versions it does not serve too, to
/// answer UNSUPPORTED_VERSION). ApiVersions v3+ is read a second time as the handler notes the client software;
/// Produce's record batches get the checks Partition.Append and Log.Append make before anything is written.
/// </summary>
/// <remarks>A malformed frame or body (KafkaProtocolException) and an unknown API end the connection in the broker.</remarks>
internal sealed class KafkaRequestTarget : IFuzzTarget
{
    private const int MaxRequestBytes = 100 * 1024 * 1024;
    private const int MaxBatchBytes = 1024 * 1024 + 12;

    private static readonly Type?[] RequestTypes = BuildRequestTypes();

    public string Name => "kafka-request";

    public long AllocationAllowance => 64 * 1024;

    public void Run(ReadOnlySpan<byte> input)
    {
        var buffer = new ReadOnlySequence<byte>(input.ToArray());
        try
        {
            while (KafkaFrame.TryRead(ref buffer, MaxRequestBytes, out var frame))
            {
                if (!Dispatch(frame.ToArray())) return;
            }
        }
        catch (KafkaProtocolException)
        {
            // The broker logs the malformed request and closes the connection.
        }
    }

    /// <summary>Parses one request; false where the broker closes the connection (an unknown API).</summary>
    private static bool Dispatch(byte[] bytes)
    {
        short apiKey = BinaryPrimitives.ReadInt16BigEndian(bytes);
        short apiVersion = BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(2));
        if ((uint)apiKey >= (uint)RequestTypes.Length || RequestTypes[apiKey] is not { } type) return false;

        var header = new RequestHeader();
        var reader = new KafkaReader(bytes);
        header.Read(ref reader, ApiKeys.RequestHeaderVersion(apiKey, apiVersion));
        var body = bytes.AsMemory(reader.Position);

        if (apiKey == ApiKeys.ApiVersions && apiVersion >= 3)
        {
            var versions = new ApiVersionsRequest();
            var again = new KafkaReader(body);
            versions.Read(ref again, apiVersion);
        }

        var request = (IKafkaMessage)Activator.CreateInstance(type)!;
        var bodyReader = new KafkaReader(body);
        request.Read(ref bodyReader, apiVersion);
        if (request is ProduceRequest produce) CheckBatches(produce);
        return true;
    }

    private static void CheckBatches(ProduceRequest produce)
    {
        foreach (var topic in produce.TopicData)
        {
            foreach (var partition in topic.PartitionData)
            {
                if (partition.Records is not { Length: > 0 } records) continue;
                // Partition.Append: the first batch's framing, without its CRC.
                if (RecordBatch.Check(records.Span, verifyCrc: false) != BatchCheck.Valid) continue;
                // Log.Append: every batch's framing, size and CRC.
                for (var rest = records.Span; !rest.IsEmpty; rest = rest[RecordBatch.TotalSize(rest)..])
                {
                    if (RecordBatch.Check(rest, verifyCrc: true, MaxBatchBytes) != BatchCheck.Valid) break;
                }
            }
        }
    }

    private static Type?[] BuildRequestTypes()
    {
        var types = new Type?[ApiKeys.All.Max(a => a.ApiKey) + 1];
        foreach (var api in ApiKeys.All)
        {
            types[api.ApiKey] = typeof(RequestHeader).Assembly.GetType($"{typeof(RequestHeader).Namespace}.{api.Name}Request", throwOnError: true);
        }
        return types;
    }
}
