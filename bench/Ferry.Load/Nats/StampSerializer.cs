using System.Buffers;
using Ferry.Load.Common;
using NATS.Client.Core;

namespace Ferry.Load.Nats;

/// <summary>
/// Writes the stamp and the padding straight into the client's buffer and reads the stamp back from the
/// received bytes: no byte[] per message, and no shared payload buffer that an unfinished publish could
/// still be reading.
/// </summary>
internal sealed class StampSerializer(int size) : INatsSerialize<Stamp>, INatsDeserialize<Stamp>
{
    public void Serialize(IBufferWriter<byte> bufferWriter, Stamp value)
    {
        var span = bufferWriter.GetSpan(size)[..size];
        value.Write(span);
        span[Stamp.Size..].Clear();
        bufferWriter.Advance(size);
    }

    public Stamp Deserialize(in ReadOnlySequence<byte> buffer) =>
        buffer.Length < Stamp.Size ? new Stamp(-1, 0) : Stamp.Read(buffer);
}
