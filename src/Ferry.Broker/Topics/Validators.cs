using System.Globalization;

namespace Ferry.Broker.Topics;

/// <summary>
/// The checks of Kafka's <c>ConfigDef</c> (types, <c>Range.atLeast</c>/<c>between</c>, <c>ValidString.in</c>,
/// <c>ValidList.in</c>) for topic config values: each returns null for a valid value, else the reason.
/// </summary>
internal static class Validators
{
    public static string? AnyLong(string value) => TryLong(value, out _) ? null : "not a number of type LONG";

    public static Func<string, string?> LongAtLeast(long min) => value =>
        !TryLong(value, out long v) ? "not a number of type LONG"
        : v < min ? $"value must be at least {min.ToString(CultureInfo.InvariantCulture)}" : null;

    public static Func<string, string?> IntAtLeast(int min) => value =>
        !TryLong(value, out long v) || v is < int.MinValue or > int.MaxValue ? "not a number of type INT"
        : v < min ? $"value must be at least {min.ToString(CultureInfo.InvariantCulture)}" : null;

    public static Func<string, string?> IntIn(int min, int max, int? alsoAllowed = null) => value =>
        !TryLong(value, out long v) || v is < int.MinValue or > int.MaxValue ? "not a number of type INT"
        : v == alsoAllowed || (v >= min && v <= max) ? null
        : string.Create(CultureInfo.InvariantCulture, $"value must be between {min} and {max}{(alsoAllowed is { } a ? $" or {a}" : "")}");

    public static Func<string, string?> DoubleIn(double min, double max) => value =>
        !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || double.IsNaN(v) ? "not a number of type DOUBLE"
        : v < min || v > max ? string.Create(CultureInfo.InvariantCulture, $"value must be between {min} and {max}") : null;

    public static string? Boolean(string value) =>
        value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("false", StringComparison.OrdinalIgnoreCase)
            ? null : "expected 'true' or 'false'";

    /// <summary>A boolean whose only supported value is false (a feature Ferry does not have).</summary>
    public static string? FalseOnly(string value) =>
        Boolean(value) ?? (value.Equals("false", StringComparison.OrdinalIgnoreCase) ? null : "not supported by this broker");

    public static Func<string, string?> OneOf(params string[] allowed) => value =>
        Array.IndexOf(allowed, value) >= 0 ? null : $"String must be one of: {string.Join(", ", allowed)}";

    /// <summary>A list whose items must each be one of <paramref name="allowed"/>, at least one of them.</summary>
    public static Func<string, string?> ListOf(params string[] allowed) => value =>
    {
        var items = Items(value).ToList();
        if (items.Count == 0) return $"the list must hold at least one of: {string.Join(", ", allowed)}";
        var bad = items.FirstOrDefault(i => Array.IndexOf(allowed, i) < 0);
        return bad is null ? null : $"Invalid value {bad}; valid values are {string.Join(", ", allowed)}";
    };

    /// <summary>Kafka's ThrottledReplicaListValidator: empty, '*', or partition:broker pairs.</summary>
    public static string? ThrottledReplicas(string value)
    {
        var items = Items(value).ToList();
        if (items.Count == 0 || (items.Count == 1 && items[0] == "*")) return null;
        foreach (var item in items)
        {
            var parts = item.Split(':');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out _)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
                return "must be the wildcard (*) or a list of the form [partitionId]:[brokerId],[partitionId]:[brokerId],...";
        }
        return null;
    }

    /// <summary>The items of a list value: comma-separated, trimmed, empty ones dropped.</summary>
    public static IEnumerable<string> Items(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static bool TryLong(string value, out long result) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result);
}
