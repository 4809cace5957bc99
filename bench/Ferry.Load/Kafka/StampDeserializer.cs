using Confluent.Kafka;
using Ferry.Load.Common;

namespace Ferry.Load.Kafka;

/// <summary>Reads the stamp straight from librdkafka's buffer: no byte[] per consumed message.</summary>
internal sealed class StampDeserializer : IDeserializer<Stamp>
{
    public static readonly StampDeserializer Instance = new();

    public Stamp Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) =>
        isNull || data.Length < Stamp.Size ? new Stamp(-1, 0) : Stamp.Read(data);
}
