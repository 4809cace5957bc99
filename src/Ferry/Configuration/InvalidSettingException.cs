using System.Text.RegularExpressions;

namespace Ferry.Configuration;

/// <summary>
/// A setting that cannot be used, from whichever source (config file, <c>FERRY_</c> variable, flag): <c>ferry serve</c>
/// prints its message as one line and exits 2. The message names the setting by its configuration path and says in
/// words what it must be, never a .NET type.
/// </summary>
public sealed partial class InvalidSettingException(string message, Exception? inner = null) : Exception(message, inner)
{
    // Microsoft.Extensions.Configuration.Binder: "Failed to convert configuration value 'abc' at 'Storage:SegmentBytes' to type 'System.Int32'."
    [GeneratedRegex(@"value '(?<value>.*)' at '(?<path>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex BinderConversion();

    /// <summary>The binder's failure to convert a value, said as what the setting must be.</summary>
    public static InvalidSettingException FromBinder(InvalidOperationException exception)
    {
        var match = BinderConversion().Match(exception.Message);
        if (!match.Success) return new InvalidSettingException(exception.Message, exception);
        string expected = InWords(match.Groups["type"].Value);
        return new InvalidSettingException($"{match.Groups["path"].Value} is '{match.Groups["value"].Value}', not {expected}.", exception);
    }

    /// <summary>What a value of a .NET type is, in words: "a whole number", "true or false" (a nullable one as its value type).</summary>
    internal static string InWords(string typeName)
    {
        if (typeName.Contains("System.Int32", StringComparison.Ordinal) || typeName.Contains("System.Int64", StringComparison.Ordinal)) return "a whole number";
        if (typeName.Contains("System.UInt16", StringComparison.Ordinal)) return "a whole number from 0 to 65535";
        if (typeName.Contains("System.Byte", StringComparison.Ordinal)) return "a whole number from 0 to 255";
        if (typeName.Contains("System.Double", StringComparison.Ordinal) || typeName.Contains("System.Single", StringComparison.Ordinal)
            || typeName.Contains("System.Decimal", StringComparison.Ordinal)) return "a number";
        if (typeName.Contains("System.Boolean", StringComparison.Ordinal)) return "true or false";
        if (typeName.Contains("System.TimeSpan", StringComparison.Ordinal)) return "a duration (hh:mm:ss)";
        if (typeName.Contains("System.IO.FileInfo", StringComparison.Ordinal)) return "a file name";
        return "a value of the right kind";
    }
}
