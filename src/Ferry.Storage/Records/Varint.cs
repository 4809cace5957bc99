namespace Ferry.Storage.Records;

/// <summary>ZigZag variable-length integers, as protobuf and the Kafka record format use them.</summary>
public static class Varint
{
    public static int SizeOfInt(int value) => SizeOfUnsigned((uint)((value << 1) ^ (value >> 31)));

    public static int SizeOfLong(long value)
    {
        ulong v = (ulong)((value << 1) ^ (value >> 63));
        int size = 1;
        while (v >= 0x80) { v >>= 7; size++; }
        return size;
    }

    public static int SizeOfUnsigned(uint value)
    {
        int size = 1;
        while (value >= 0x80) { value >>= 7; size++; }
        return size;
    }

    public static int WriteInt(Span<byte> destination, int value) =>
        WriteUnsignedLong(destination, (uint)((value << 1) ^ (value >> 31)));

    public static int WriteLong(Span<byte> destination, long value) =>
        WriteUnsignedLong(destination, (ulong)((value << 1) ^ (value >> 63)));

    private static int WriteUnsignedLong(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a zigzag varint; false if the input ends first or the value is too long.</summary>
    public static bool TryReadInt(ReadOnlySpan<byte> source, out int value, out int bytesRead)
    {
        bool ok = TryReadLong(source, out long wide, out bytesRead);
        value = (int)wide;
        return ok && wide >= int.MinValue && wide <= int.MaxValue;
    }

    public static bool TryReadLong(ReadOnlySpan<byte> source, out long value, out int bytesRead)
    {
        ulong raw = 0;
        for (int i = 0, shift = 0; i < source.Length && shift < 64; i++, shift += 7)
        {
            raw |= (ulong)(source[i] & 0x7F) << shift;
            if ((source[i] & 0x80) == 0)
            {
                bytesRead = i + 1;
                value = (long)(raw >> 1) ^ -(long)(raw & 1);
                return true;
            }
        }
        value = 0;
        bytesRead = 0;
        return false;
    }
}
