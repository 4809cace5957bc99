using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Ferry.Kafka.Protocol;

/// <summary>
/// Reads Kafka primitives, big-endian, from one request or response body held in memory.
/// </summary>
/// <remarks>
/// Every length read off the wire is checked against the bytes remaining before anything is allocated,
/// so a hostile length costs nothing: an array of N elements needs at least N bytes, a string of N bytes
/// N bytes. Malformed input throws <see cref="KafkaProtocolException"/>. <c>records</c> fields come back
/// as slices of the input, never copies; they stay valid as long as the input memory does.
/// Compact forms (flexible versions, KIP-482) prefix lengths with an unsigned varint of length + 1,
/// 0 meaning null.
/// </remarks>
public ref struct KafkaReader
{
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly ReadOnlySpan<byte> _span;
    private int _position;

    public KafkaReader(ReadOnlyMemory<byte> buffer)
    {
        _memory = buffer;
        _span = buffer.Span;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _span.Length - _position;

    public readonly bool IsAtEnd => _position == _span.Length;

    /// <summary>The unread rest of the input, as a slice.</summary>
    public readonly ReadOnlyMemory<byte> RemainingMemory => _memory[_position..];

    public void Skip(int count)
    {
        if ((uint)count > (uint)Remaining)
        {
            KafkaProtocolException.ThrowTruncated(count, Remaining);
        }
        _position += count;
    }

    public bool ReadBool() => Take(1)[0] != 0;

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    /// <summary>Kafka's Uuid: 16 bytes, most significant first.</summary>
    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    public uint ReadUnsignedVarint()
    {
        uint result = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            byte b = Take(1)[0];
            if (shift == 28 && b > 0x0F)
            {
                KafkaProtocolException.ThrowVarintTooLong();
            }
            result |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        KafkaProtocolException.ThrowVarintTooLong();
        return 0;
    }

    public ulong ReadUnsignedVarlong()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = Take(1)[0];
            if (shift == 63 && b > 0x01)
            {
                KafkaProtocolException.ThrowVarintTooLong();
            }
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        KafkaProtocolException.ThrowVarintTooLong();
        return 0;
    }

    /// <summary>Zig-zag encoded signed varint.</summary>
    public int ReadVarint()
    {
        uint raw = ReadUnsignedVarint();
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>Zig-zag encoded signed varlong.</summary>
    public long ReadVarlong()
    {
        ulong raw = ReadUnsignedVarlong();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    public string ReadString() => DecodeString(ReadInt16Length("string", nullable: false));

    public string? ReadNullableString()
    {
        int length = ReadInt16Length("string", nullable: true);
        return length < 0 ? null : DecodeString(length);
    }

    public string ReadCompactString() => DecodeString(ReadCompactLength("string", nullable: false));

    public string? ReadCompactNullableString()
    {
        int length = ReadCompactLength("string", nullable: true);
        return length < 0 ? null : DecodeString(length);
    }

    public byte[] ReadBytes() => Take(ReadInt32Length("bytes", nullable: false)).ToArray();

    public byte[]? ReadNullableBytes()
    {
        int length = ReadInt32Length("bytes", nullable: true);
        return length < 0 ? null : Take(length).ToArray();
    }

    public byte[] ReadCompactBytes() => Take(ReadCompactLength("bytes", nullable: false)).ToArray();

    public byte[]? ReadCompactNullableBytes()
    {
        int length = ReadCompactLength("bytes", nullable: true);
        return length < 0 ? null : Take(length).ToArray();
    }

    /// <summary>A <c>records</c> field: a slice of the input, not a copy.</summary>
    public ReadOnlyMemory<byte> ReadRecords() => Slice(ReadInt32Length("records", nullable: false));

    public ReadOnlyMemory<byte>? ReadNullableRecords()
    {
        int length = ReadInt32Length("records", nullable: true);
        // Not "? null :": null would convert to an empty ReadOnlyMemory through byte[].
        return length < 0 ? default(ReadOnlyMemory<byte>?) : Slice(length);
    }

    public ReadOnlyMemory<byte> ReadCompactRecords() => Slice(ReadCompactLength("records", nullable: false));

    public ReadOnlyMemory<byte>? ReadCompactNullableRecords()
    {
        int length = ReadCompactLength("records", nullable: true);
        // Not "? null :": null would convert to an empty ReadOnlyMemory through byte[].
        return length < 0 ? default(ReadOnlyMemory<byte>?) : Slice(length);
    }

    /// <summary>An int32 array length; at least one byte per element must remain.</summary>
    public int ReadArrayLength() => ReadInt32Length("array", nullable: false);

    /// <summary>An int32 array length, -1 for a null array.</summary>
    public int ReadNullableArrayLength() => ReadInt32Length("array", nullable: true);

    public int ReadCompactArrayLength() => ReadCompactLength("array", nullable: false);

    /// <summary>A compact array length, -1 for a null array.</summary>
    public int ReadCompactNullableArrayLength() => ReadCompactLength("array", nullable: true);

    /// <summary>The number of tagged fields that follow; each takes at least two bytes.</summary>
    public int ReadTaggedFieldCount()
    {
        uint count = ReadUnsignedVarint();
        if (count > (uint)Remaining / 2)
        {
            KafkaProtocolException.ThrowLengthExceedsRemaining("tagged fields", count, Remaining);
        }
        return (int)count;
    }

    /// <summary>The size of one tagged field's data, checked against the bytes remaining.</summary>
    public int ReadTaggedFieldSize()
    {
        uint size = ReadUnsignedVarint();
        if (size > (uint)Remaining)
        {
            KafkaProtocolException.ThrowLengthExceedsRemaining("tagged field", size, Remaining);
        }
        return (int)size;
    }

    /// <summary>Checks that a known tagged field consumed exactly the size it declared.</summary>
    public readonly void EndTaggedField(int end)
    {
        if (_position != end)
        {
            KafkaProtocolException.ThrowTaggedFieldSizeMismatch(end, _position);
        }
    }

    /// <summary>Reads and discards a whole tagged-field section.</summary>
    public void SkipTaggedFields()
    {
        int count = ReadTaggedFieldCount();
        for (int i = 0; i < count; i++)
        {
            ReadUnsignedVarint();
            Skip(ReadTaggedFieldSize());
        }
    }

    private int ReadInt16Length(string what, bool nullable)
    {
        short length = ReadInt16();
        return CheckLength(what, length, nullable);
    }

    private int ReadInt32Length(string what, bool nullable)
    {
        int length = ReadInt32();
        return CheckLength(what, length, nullable);
    }

    private int ReadCompactLength(string what, bool nullable)
    {
        uint raw = ReadUnsignedVarint();
        if (raw == 0)
        {
            if (!nullable)
            {
                KafkaProtocolException.ThrowNegativeLength(what, -1);
            }
            return -1;
        }
        long length = raw - 1L;
        if (length > Remaining)
        {
            KafkaProtocolException.ThrowLengthExceedsRemaining(what, length, Remaining);
        }
        return (int)length;
    }

    private readonly int CheckLength(string what, int length, bool nullable)
    {
        if (length < 0)
        {
            if (length != -1 || !nullable)
            {
                KafkaProtocolException.ThrowNegativeLength(what, length);
            }
            return -1;
        }
        if (length > Remaining)
        {
            KafkaProtocolException.ThrowLengthExceedsRemaining(what, length, Remaining);
        }
        return length;
    }

    private string DecodeString(int length) => length == 0 ? string.Empty : Encoding.UTF8.GetString(Take(length));

    private ReadOnlyMemory<byte> Slice(int length)
    {
        if ((uint)length > (uint)Remaining)
        {
            KafkaProtocolException.ThrowTruncated(length, Remaining);
        }
        ReadOnlyMemory<byte> slice = _memory.Slice(_position, length);
        _position += length;
        return slice;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)Remaining)
        {
            KafkaProtocolException.ThrowTruncated(count, Remaining);
        }
        ReadOnlySpan<byte> span = _span.Slice(_position, count);
        _position += count;
        return span;
    }
}
