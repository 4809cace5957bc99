using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Ferry.KafkaCodecGen;

/// <summary>An inclusive range of versions; <c>"3+"</c> is open-ended, <c>"none"</c> is empty.</summary>
internal readonly record struct VersionRange(short Lo, short Hi)
{
    public static readonly VersionRange None = new(1, 0);

    public static readonly VersionRange All = new(0, short.MaxValue);

    public bool IsEmpty => Lo > Hi;

    public static VersionRange Parse(string? text)
    {
        if (text is null || text == "none")
        {
            return None;
        }
        if (text.EndsWith('+'))
        {
            return new(short.Parse(text.AsSpan(0, text.Length - 1), CultureInfo.InvariantCulture), short.MaxValue);
        }
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            return new(
                short.Parse(text.AsSpan(0, dash), CultureInfo.InvariantCulture),
                short.Parse(text.AsSpan(dash + 1), CultureInfo.InvariantCulture));
        }
        short single = short.Parse(text, CultureInfo.InvariantCulture);
        return new(single, single);
    }

    public VersionRange Intersect(VersionRange other)
    {
        if (IsEmpty || other.IsEmpty)
        {
            return None;
        }
        var result = new VersionRange(Math.Max(Lo, other.Lo), Math.Min(Hi, other.Hi));
        return result.IsEmpty ? None : result;
    }

    /// <summary>This range minus an open-ended or trailing range; must leave one contiguous range.</summary>
    public VersionRange Subtract(VersionRange other)
    {
        VersionRange overlap = Intersect(other);
        if (overlap.IsEmpty)
        {
            return this;
        }
        if (overlap == this)
        {
            return None;
        }
        if (overlap.Hi == Hi)
        {
            return new(Lo, (short)(overlap.Lo - 1));
        }
        if (overlap.Lo == Lo)
        {
            return new((short)(overlap.Hi + 1), Hi);
        }
        throw new InvalidOperationException($"Range {this} minus {other} is not contiguous.");
    }

    public override string ToString() => IsEmpty ? "none" : Hi == short.MaxValue ? $"{Lo}+" : $"{Lo}-{Hi}";
}

internal sealed class FieldSpec
{
    public required string Name { get; init; }

    /// <summary>The schema type: <c>int32</c>, <c>[]int32</c>, <c>[]TopicData</c>, <c>SnapshotId</c>.</summary>
    public required string Type { get; init; }

    public required VersionRange Versions { get; init; }

    public required VersionRange NullableVersions { get; init; }

    public required VersionRange TaggedVersions { get; init; }

    public int? Tag { get; init; }

    public bool Ignorable { get; init; }

    public string? Default { get; init; }

    /// <summary>A per-field override of the message's flexible versions (RequestHeader.ClientId).</summary>
    public VersionRange? FlexibleVersions { get; init; }

    public string? About { get; init; }

    public IReadOnlyList<FieldSpec>? Fields { get; init; }

    public bool IsArray => Type.StartsWith("[]", StringComparison.Ordinal);

    /// <summary>The element type for arrays, the type itself otherwise.</summary>
    public string ElementType => IsArray ? Type[2..] : Type;

    public bool IsStruct => !Schema.IsPrimitive(ElementType);
}

internal sealed class MessageSpec
{
    public required string Name { get; init; }

    public required string FileName { get; init; }

    public short? ApiKey { get; init; }

    public required string Kind { get; init; }

    public required VersionRange ValidVersions { get; init; }

    public required VersionRange FlexibleVersions { get; init; }

    public required IReadOnlyList<FieldSpec> Fields { get; init; }

    public required IReadOnlyList<(string Name, VersionRange Versions, IReadOnlyList<FieldSpec> Fields)> CommonStructs { get; init; }
}

internal static class Schema
{
    private static readonly HashSet<string> Primitives =
    [
        "bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "uuid", "string", "bytes", "records",
    ];

    public static bool IsPrimitive(string type) => Primitives.Contains(type);

    public static string Pascal(string name) => char.ToUpperInvariant(name[0]) + name[1..];

    /// <summary>The schemas carry Apache license headers and notes as <c>//</c> lines; JSON has no comments.</summary>
    public static string StripComments(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (string line in text.Split('\n'))
        {
            if (!line.TrimStart().StartsWith("//", StringComparison.Ordinal))
            {
                sb.Append(line).Append('\n');
            }
        }
        return sb.ToString();
    }

    public static MessageSpec Load(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(StripComments(File.ReadAllText(path)));
        JsonElement root = doc.RootElement;
        var commonStructs = new List<(string, VersionRange, IReadOnlyList<FieldSpec>)>();
        VersionRange valid = VersionRange.Parse(root.GetProperty("validVersions").GetString());
        if (root.TryGetProperty("commonStructs", out JsonElement common))
        {
            foreach (JsonElement s in common.EnumerateArray())
            {
                VersionRange versions = s.TryGetProperty("versions", out JsonElement v) ? VersionRange.Parse(v.GetString()) : valid;
                commonStructs.Add((s.GetProperty("name").GetString()!, versions, ParseFields(s.GetProperty("fields"))));
            }
        }
        return new MessageSpec
        {
            Name = root.GetProperty("name").GetString()!,
            FileName = Path.GetFileName(path),
            ApiKey = root.TryGetProperty("apiKey", out JsonElement key) ? key.GetInt16() : null,
            Kind = root.GetProperty("type").GetString()!,
            ValidVersions = valid,
            FlexibleVersions = VersionRange.Parse(root.GetProperty("flexibleVersions").GetString()),
            Fields = ParseFields(root.GetProperty("fields")),
            CommonStructs = commonStructs,
        };
    }

    private static List<FieldSpec> ParseFields(JsonElement array)
    {
        var fields = new List<FieldSpec>();
        foreach (JsonElement f in array.EnumerateArray())
        {
            string? Str(string name) => f.TryGetProperty(name, out JsonElement e) ? e.ValueKind switch
            {
                JsonValueKind.String => e.GetString(),
                JsonValueKind.Number => e.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => throw new InvalidDataException($"Unexpected {name}: {e.GetRawText()}"),
            } : null;

            VersionRange versions = VersionRange.Parse(Str("versions"));
            fields.Add(new FieldSpec
            {
                // A few schemas spell fields in camelCase (CreateTopicsRequest.timeoutMs); Kafka's own
                // generator capitalizes them, and so do we.
                Name = Pascal(Str("name")!),
                Type = Str("type")!,
                Versions = versions,
                NullableVersions = VersionRange.Parse(Str("nullableVersions")).Intersect(versions),
                TaggedVersions = VersionRange.Parse(Str("taggedVersions")).Intersect(versions),
                Tag = f.TryGetProperty("tag", out JsonElement tag) ? tag.GetInt32() : null,
                Ignorable = f.TryGetProperty("ignorable", out JsonElement ig) && ig.GetBoolean(),
                Default = Str("default"),
                FlexibleVersions = Str("flexibleVersions") is { } flex ? VersionRange.Parse(flex) : null,
                About = Str("about"),
                Fields = f.TryGetProperty("fields", out JsonElement sub) ? ParseFields(sub) : null,
            });
        }
        return fields;
    }
}
