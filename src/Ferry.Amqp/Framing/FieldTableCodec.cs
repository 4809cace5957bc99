using System.Text;

namespace Ferry.Amqp.Framing;

/// <summary>
/// Field tables and arrays with the type codes RabbitMQ uses (the 0-9-1 errata,
/// https://www.rabbitmq.com/amqp-0-9-1-errata.html#section_3), decoded to CLR values that keep the type
/// code, so that a table read is written back byte for byte:
/// <code>
/// t bool      b sbyte   B byte    s short   u ushort   I int        i uint     l long
/// f float     d double  D AmqpDecimal       S byte[] (long string; string is also written as S)
/// x AmqpByteArray       A List&lt;object?&gt; T AmqpTimestamp        F Dictionary&lt;string, object?&gt;  V null
/// </code>
/// </summary>
internal static class FieldTableCodec
{
    /// <summary>Nesting limit for tables and arrays, so a hostile frame cannot exhaust the stack.</summary>
    internal const int MaxDepth = 64;

    internal static Dictionary<string, object?> ReadTable(ReadOnlySpan<byte> content, int depth)
    {
        CheckDepth(depth);
        var table = new Dictionary<string, object?>(StringComparer.Ordinal);
        var reader = new AmqpReader(content);
        while (reader.Remaining > 0)
        {
            string name = reader.ReadShortStr();
            // A repeated name keeps the last value, as RabbitMQ's decoder does.
            table[name] = ReadValue(ref reader, depth);
        }

        return table;
    }

    internal static List<object?> ReadArray(ReadOnlySpan<byte> content, int depth)
    {
        CheckDepth(depth);
        var array = new List<object?>();
        var reader = new AmqpReader(content);
        while (reader.Remaining > 0)
        {
            array.Add(ReadValue(ref reader, depth));
        }

        return array;
    }

    private static object? ReadValue(ref AmqpReader reader, int depth)
    {
        byte type = reader.ReadOctet();
        switch (type)
        {
            case (byte)'t': return reader.ReadOctet() != 0;
            case (byte)'b': return (sbyte)reader.ReadOctet();
            case (byte)'B': return reader.ReadOctet();
            case (byte)'s': return (short)reader.ReadShort();
            case (byte)'u': return reader.ReadShort();
            case (byte)'I': return (int)reader.ReadLong();
            case (byte)'i': return reader.ReadLong();
            case (byte)'l': return (long)reader.ReadLongLong();
            case (byte)'f': return BitConverter.Int32BitsToSingle((int)reader.ReadLong());
            case (byte)'d': return BitConverter.Int64BitsToDouble((long)reader.ReadLongLong());
            case (byte)'D':
                byte scale = reader.ReadOctet();
                return new AmqpDecimal(scale, (int)reader.ReadLong());
            case (byte)'S': return reader.ReadLongStrBytes().ToArray();
            case (byte)'x': return new AmqpByteArray(reader.ReadLongStrBytes().ToArray());
            case (byte)'A': return ReadArray(reader.ReadLongStrBytes(), depth + 1);
            case (byte)'T': return reader.ReadTimestamp();
            case (byte)'F': return ReadTable(reader.ReadLongStrBytes(), depth + 1);
            case (byte)'V': return null;
            default:
                AmqpFrameException.ThrowSyntaxError($"Unknown field value type 0x{type:X2} in a field table.");
                return null;
        }
    }

    /// <summary>
    /// Walks a table's content with the checks of <see cref="ReadTable"/> and throws where it would, but
    /// builds nothing: the publish path validates every message's headers without keeping them.
    /// </summary>
    internal static void SkipTable(ReadOnlySpan<byte> content, int depth)
    {
        CheckDepth(depth);
        var reader = new AmqpReader(content);
        while (reader.Remaining > 0)
        {
            reader.ReadShortStrBytes();
            SkipValue(ref reader, depth);
        }
    }

    private static void SkipArray(ReadOnlySpan<byte> content, int depth)
    {
        CheckDepth(depth);
        var reader = new AmqpReader(content);
        while (reader.Remaining > 0) SkipValue(ref reader, depth);
    }

    private static void SkipValue(ref AmqpReader reader, int depth)
    {
        byte type = reader.ReadOctet();
        switch (type)
        {
            case (byte)'t' or (byte)'b' or (byte)'B': reader.ReadBytes(1); break;
            case (byte)'s' or (byte)'u': reader.ReadBytes(2); break;
            case (byte)'I' or (byte)'i' or (byte)'f': reader.ReadBytes(4); break;
            case (byte)'l' or (byte)'d' or (byte)'T': reader.ReadBytes(8); break;
            case (byte)'D': reader.ReadBytes(5); break;
            case (byte)'S' or (byte)'x': reader.ReadLongStrBytes(); break;
            case (byte)'A': SkipArray(reader.ReadLongStrBytes(), depth + 1); break;
            case (byte)'F': SkipTable(reader.ReadLongStrBytes(), depth + 1); break;
            case (byte)'V': break;
            default:
                AmqpFrameException.ThrowSyntaxError($"Unknown field value type 0x{type:X2} in a field table.");
                break;
        }
    }

    private static void CheckDepth(int depth)
    {
        if (depth > MaxDepth)
        {
            AmqpFrameException.ThrowSyntaxError($"Field tables nested deeper than {MaxDepth} levels.");
        }
    }

    internal static void WriteEntries(ref AmqpWriter writer, IDictionary<string, object?> table)
    {
        foreach (KeyValuePair<string, object?> entry in table)
        {
            writer.WriteShortStr(entry.Key);
            WriteValue(ref writer, entry.Value);
        }
    }

    internal static int GetEntriesSize(IDictionary<string, object?> table)
    {
        int size = 0;
        foreach (KeyValuePair<string, object?> entry in table)
        {
            size += AmqpWriter.GetShortStrSize(entry.Key) + GetValueSize(entry.Value);
        }

        return size;
    }

    private static void WriteValue(ref AmqpWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteOctet((byte)'V');
                break;
            case bool b:
                writer.WriteOctet((byte)'t');
                writer.WriteOctet(b ? (byte)1 : (byte)0);
                break;
            case sbyte v:
                writer.WriteOctet((byte)'b');
                writer.WriteOctet((byte)v);
                break;
            case byte v:
                writer.WriteOctet((byte)'B');
                writer.WriteOctet(v);
                break;
            case short v:
                writer.WriteOctet((byte)'s');
                writer.WriteShort((ushort)v);
                break;
            case ushort v:
                writer.WriteOctet((byte)'u');
                writer.WriteShort(v);
                break;
            case int v:
                writer.WriteOctet((byte)'I');
                writer.WriteLong((uint)v);
                break;
            case uint v:
                writer.WriteOctet((byte)'i');
                writer.WriteLong(v);
                break;
            case long v:
                writer.WriteOctet((byte)'l');
                writer.WriteLongLong((ulong)v);
                break;
            case float v:
                writer.WriteOctet((byte)'f');
                writer.WriteLong((uint)BitConverter.SingleToInt32Bits(v));
                break;
            case double v:
                writer.WriteOctet((byte)'d');
                writer.WriteLongLong((ulong)BitConverter.DoubleToInt64Bits(v));
                break;
            case AmqpDecimal v:
                writer.WriteOctet((byte)'D');
                writer.WriteOctet(v.Scale);
                writer.WriteLong((uint)v.Value);
                break;
            case string v:
                writer.WriteOctet((byte)'S');
                writer.WriteLongStr(v);
                break;
            case byte[] v:
                writer.WriteOctet((byte)'S');
                writer.WriteLongStr(v);
                break;
            case AmqpByteArray v:
                writer.WriteOctet((byte)'x');
                writer.WriteLongStr(v.Bytes ?? []);
                break;
            case AmqpTimestamp v:
                writer.WriteOctet((byte)'T');
                writer.WriteTimestamp(v);
                break;
            case IDictionary<string, object?> v:
                writer.WriteOctet((byte)'F');
                writer.WriteTable(v);
                break;
            case IList<object?> v:
                writer.WriteOctet((byte)'A');
                int lengthAt = writer.BeginLongLength();
                foreach (object? item in v)
                {
                    WriteValue(ref writer, item);
                }

                writer.EndLongLength(lengthAt);
                break;
            default:
                ThrowUnsupported(value);
                break;
        }
    }

    private static int GetValueSize(object? value) => 1 + value switch
    {
        null => 0,
        bool or sbyte or byte => 1,
        short or ushort => 2,
        int or uint or float => 4,
        long or double or AmqpTimestamp => 8,
        AmqpDecimal => 5,
        string v => 4 + Encoding.UTF8.GetByteCount(v),
        byte[] v => 4 + v.Length,
        AmqpByteArray v => 4 + (v.Bytes?.Length ?? 0),
        IDictionary<string, object?> v => AmqpWriter.GetTableSize(v),
        IList<object?> v => 4 + GetArrayContentSize(v),
        _ => ThrowUnsupported(value),
    };

    private static int GetArrayContentSize(IList<object?> array)
    {
        int size = 0;
        foreach (object? item in array)
        {
            size += GetValueSize(item);
        }

        return size;
    }

    private static int ThrowUnsupported(object value) =>
        throw new ArgumentException(
            $"A field table cannot hold a {value.GetType()}; see FieldTableCodec for the supported types.");
}
