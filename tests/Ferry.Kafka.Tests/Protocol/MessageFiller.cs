using System.Collections;
using System.Reflection;

namespace Ferry.Kafka.Tests.Protocol;

/// <summary>
/// Sets every property of a generated message, nested structs included, to a distinct non-default value,
/// so that a round trip exercises every field, tagged ones too.
/// </summary>
internal sealed class MessageFiller
{
    private int _next = 1;

    public T Fill<T>()
        where T : new()
    {
        var message = new T();
        FillObject(message, depth: 0);
        return message;
    }

    private void FillObject(object target, int depth)
    {
        foreach (PropertyInfo property in target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite)
            {
                property.SetValue(target, Value(property.PropertyType, depth));
            }
        }
    }

    private object Value(Type type, int depth)
    {
        int n = _next++;
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(bool))
        {
            return true;
        }
        if (type == typeof(sbyte))
        {
            return (sbyte)(n % 100 + 2);
        }
        if (type == typeof(short))
        {
            return (short)(n + 2);
        }
        if (type == typeof(ushort))
        {
            return (ushort)(n + 2);
        }
        if (type == typeof(int))
        {
            return n * 1000 + 7;
        }
        if (type == typeof(uint))
        {
            return (uint)n * 1000 + 7;
        }
        if (type == typeof(long))
        {
            return n * 10_000_000_000L + 3;
        }
        if (type == typeof(double))
        {
            return n + 0.5;
        }
        if (type == typeof(Guid))
        {
            return new Guid(n, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        }
        if (type == typeof(string))
        {
            return $"v{n}-ü";
        }
        if (type == typeof(byte[]))
        {
            return new byte[] { (byte)n, 1, 2, 3 };
        }
        if (type == typeof(ReadOnlyMemory<byte>))
        {
            return new ReadOnlyMemory<byte>([(byte)n, 0xDE, 0xAD, 0xBE, 0xEF]);
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(type)!;
            Type element = type.GetGenericArguments()[0];
            for (int i = 0; i < 2; i++)
            {
                list.Add(Value(element, depth + 1));
            }
            return list;
        }
        if (type.IsClass && depth < 8)
        {
            object nested = Activator.CreateInstance(type)!;
            FillObject(nested, depth + 1);
            return nested;
        }
        throw new NotSupportedException(type.FullName);
    }
}
