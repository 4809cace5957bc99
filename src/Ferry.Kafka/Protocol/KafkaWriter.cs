using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Ferry.Kafka.Protocol;

/// <summary>
/// Writes Kafka primitives, big-endian, into an <see cref="IBufferWriter{T}"/> via GetSpan/Advance.
/// </summary>
/// <remarks>
/// The writer can also count without writing: <see cref="CreateSizer"/> makes one that only counts
/// (message <c>ComputeSize</c>), and <see cref="BeginMeasure"/>/<see cref="EndMeasure"/> measure a value
/// while writing, which is how a tagged field's size prefix is found before its data is written.
/// Non-nullable writes reject null with <see cref="KafkaProtocolException"/>.
/// </remarks>
public sealed class KafkaWriter
{
    private const int MaxInt16String = short.MaxValue;

    private readonly IBufferWriter<byte>? _output;
    private int _measureDepth;
    private long _bytesWritten;

    public KafkaWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    private KafkaWriter()
    {
        _measureDepth = 1;
    }

    /// <summary>A writer that writes nothing and only counts the bytes it would have written.</summary>
    public static KafkaWriter CreateSizer() => new();

    /// <summary>Bytes written (or counted) so far, not counting measured-only passes.</summary>
    public long BytesWritten => _bytesWritten;

    /// <summary>
    /// Starts counting without writing. Nestable. Pass the result to <see cref="EndMeasure"/>, which returns
    /// the bytes counted in between and forgets them.
    /// </summary>
    public long BeginMeasure()
    {
        _measureDepth++;
        return _bytesWritten;
    }

    public int EndMeasure(long start)
    {
        long size = _bytesWritten - start;
        _bytesWritten = start;
        _measureDepth--;
        return checked((int)size);
    }

    public void WriteBool(bool value) => WriteUInt8(value ? (byte)1 : (byte)0);

    public void WriteInt8(sbyte value) => WriteUInt8((byte)value);

    public void WriteInt16(short value)
    {
        if (_measureDepth == 0)
        {
            BinaryPrimitives.WriteInt16BigEndian(_output!.GetSpan(2), value);
            _output.Advance(2);
        }
        _bytesWritten += 2;
    }

    public void WriteUInt16(ushort value)
    {
        if (_measureDepth == 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_output!.GetSpan(2), value);
            _output.Advance(2);
        }
        _bytesWritten += 2;
    }

    public void WriteInt32(int value)
    {
        if (_measureDepth == 0)
        {
            BinaryPrimitives.WriteInt32BigEndian(_output!.GetSpan(4), value);
            _output.Advance(4);
        }
        _bytesWritten += 4;
    }

    public void WriteUInt32(uint value)
    {
        if (_measureDepth == 0)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_output!.GetSpan(4), value);
            _output.Advance(4);
        }
        _bytesWritten += 4;
    }

    public void WriteInt64(long value)
    {
        if (_measureDepth == 0)
        {
            BinaryPrimitives.WriteInt64BigEndian(_output!.GetSpan(8), value);
            _output.Advance(8);
        }
        _bytesWritten += 8;
    }

    public void WriteFloat64(double value)
    {
        if (_measureDepth == 0)
        {
            BinaryPrimitives.WriteDoubleBigEndian(_output!.GetSpan(8), value);
            _output.Advance(8);
        }
        _bytesWritten += 8;
    }

    /// <summary>Kafka's Uuid: 16 bytes, most significant first.</summary>
    public void WriteUuid(Guid value)
    {
        if (_measureDepth == 0)
        {
            value.TryWriteBytes(_output!.GetSpan(16), bigEndian: true, out _);
            _output.Advance(16);
        }
        _bytesWritten += 16;
    }

    public void WriteUnsignedVarint(uint value)
    {
        int size = SizeOfUnsignedVarint(value);
        if (_measureDepth == 0)
        {
            Span<byte> span = _output!.GetSpan(size);
            int i = 0;
            while (value >= 0x80)
            {
                span[i++] = (byte)(value | 0x80);
                value >>= 7;
            }
            span[i] = (byte)value;
            _output.Advance(size);
        }
        _bytesWritten += size;
    }

    public void WriteUnsignedVarlong(ulong value)
    {
        int size = SizeOfUnsignedVarlong(value);
        if (_measureDepth == 0)
        {
            Span<byte> span = _output!.GetSpan(size);
            int i = 0;
            while (value >= 0x80)
            {
                span[i++] = (byte)(value | 0x80);
                value >>= 7;
            }
            span[i] = (byte)value;
            _output.Advance(size);
        }
        _bytesWritten += size;
    }

    /// <summary>Zig-zag encoded signed varint.</summary>
    public void WriteVarint(int value) => WriteUnsignedVarint((uint)((value << 1) ^ (value >> 31)));

    /// <summary>Zig-zag encoded signed varlong.</summary>
    public void WriteVarlong(long value) => WriteUnsignedVarlong((ulong)((value << 1) ^ (value >> 63)));

    public void WriteString(string value)
    {
        if (value is null)
        {
            KafkaProtocolException.ThrowNullValue("string");
        }
        int length = Encoding.UTF8.GetByteCount(value);
        if (length > MaxInt16String)
        {
            KafkaProtocolException.ThrowValueTooLong("string", length, MaxInt16String);
        }
        WriteInt16((short)length);
        WriteUtf8(value, length);
    }

    public void WriteNullableString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }
        WriteString(value);
    }

    public void WriteCompactString(string value)
    {
        if (value is null)
        {
            KafkaProtocolException.ThrowNullValue("string");
        }
        int length = Encoding.UTF8.GetByteCount(value);
        WriteUnsignedVarint((uint)length + 1);
        WriteUtf8(value, length);
    }

    public void WriteCompactNullableString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarint(0);
            return;
        }
        WriteCompactString(value);
    }

    public void WriteBytes(byte[] value)
    {
        if (value is null)
        {
            KafkaProtocolException.ThrowNullValue("bytes");
        }
        WriteInt32(value.Length);
        WriteRaw(value);
    }

    public void WriteNullableBytes(byte[]? value)
    {
        if (value is null)
        {
            WriteInt32(-1);
            return;
        }
        WriteBytes(value);
    }

    public void WriteCompactBytes(byte[] value)
    {
        if (value is null)
        {
            KafkaProtocolException.ThrowNullValue("bytes");
        }
        WriteUnsignedVarint((uint)value.Length + 1);
        WriteRaw(value);
    }

    public void WriteCompactNullableBytes(byte[]? value)
    {
        if (value is null)
        {
            WriteUnsignedVarint(0);
            return;
        }
        WriteCompactBytes(value);
    }

    public void WriteRecords(ReadOnlyMemory<byte> value)
    {
        WriteInt32(value.Length);
        WriteRecordBytes(value);
    }

    public void WriteNullableRecords(ReadOnlyMemory<byte>? value)
    {
        if (value is not { } records)
        {
            WriteInt32(-1);
            return;
        }
        WriteRecords(records);
    }

    public void WriteCompactRecords(ReadOnlyMemory<byte> value)
    {
        WriteUnsignedVarint((uint)value.Length + 1);
        WriteRecordBytes(value);
    }

    /// <summary>Record bytes: in memory, or still in a log file (<see cref="FileRecords"/>), read straight into the output.</summary>
    private void WriteRecordBytes(ReadOnlyMemory<byte> value)
    {
        if (!MemoryMarshal.TryGetMemoryManager(value, out FileRecords? file))
        {
            WriteRaw(value.Span);
            return;
        }
        if (_measureDepth == 0 && _output is not null) file.CopyTo(_output);
        _bytesWritten += value.Length;
    }

    public void WriteCompactNullableRecords(ReadOnlyMemory<byte>? value)
    {
        if (value is not { } records)
        {
            WriteUnsignedVarint(0);
            return;
        }
        WriteCompactRecords(records);
    }

    public void WriteArrayLength(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteInt32(count);
    }

    public void WriteNullArray() => WriteInt32(-1);

    public void WriteCompactArrayLength(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteUnsignedVarint((uint)count + 1);
    }

    public void WriteCompactNullArray() => WriteUnsignedVarint(0);

    /// <summary>A tagged-field section with no fields.</summary>
    public void WriteEmptyTaggedFields() => WriteUInt8(0);

    /// <summary>Copies bytes as they are, with no length prefix.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        if (_measureDepth == 0 && !bytes.IsEmpty)
        {
            _output!.Write(bytes);
        }
        _bytesWritten += bytes.Length;
    }

    public static int SizeOfUnsignedVarint(uint value) => (38 - System.Numerics.BitOperations.LeadingZeroCount(value | 1)) / 7;

    public static int SizeOfUnsignedVarlong(ulong value) => (70 - System.Numerics.BitOperations.LeadingZeroCount(value | 1)) / 7;

    private void WriteUInt8(byte value)
    {
        if (_measureDepth == 0)
        {
            _output!.GetSpan(1)[0] = value;
            _output.Advance(1);
        }
        _bytesWritten += 1;
    }

    private void WriteUtf8(string value, int length)
    {
        if (_measureDepth == 0 && length > 0)
        {
            int written = Encoding.UTF8.GetBytes(value, _output!.GetSpan(length));
            _output.Advance(written);
        }
        _bytesWritten += length;
    }
}
