using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Ferry.Configuration;

/// <summary>
/// Reads every setting once before the host starts, so that a value that cannot be used stops <c>ferry serve</c>
/// with one line naming it (<see cref="InvalidSettingException"/>) instead of an unhandled exception from whichever
/// service first binds its section.
/// </summary>
internal static partial class SettingsCheck
{
    // The generated validators say "Segment: The field FerryOptions.Storage.SegmentBytes must be between ...".
    [GeneratedRegex(@"(?:\w+: )?The field (?<type>\w+)Options\.(?<path>[\w.]+) (?<rule>[^;]*)")]
    private static partial Regex ValidatorFailure();

    /// <summary>Validation failures by setting path, as the config file and the environment name them: "Storage:SegmentBytes must be ...".</summary>
    public static string Describe(OptionsValidationException exception) =>
        string.Join("; ", exception.Failures.Select(failure => ValidatorFailure().Replace(failure, match =>
        {
            string section = match.Groups["type"].Value == "Ferry" ? "" : match.Groups["type"].Value + ":";
            return $"{section}{match.Groups["path"].Value.Replace('.', ':')} {match.Groups["rule"].Value}";
        })));

    /// <summary>Runs a binding (a concrete <c>Get&lt;T&gt;</c>, which the binder's source generator can see), its failures said as <see cref="InvalidSettingException"/>.</summary>
    public static T Bind<T>(Func<T?> bind) where T : new()
    {
        try
        {
            return bind() ?? new T();
        }
        catch (InvalidOperationException ex)
        {
            throw InvalidSettingException.FromBinder(ex);
        }
    }

    /// <summary>
    /// Log levels are parsed by the logging filter as the first logger is made, where a bad one is an unhandled
    /// exception; checked here with the same rule (a <see cref="LogLevel"/> name, any case).
    /// </summary>
    public static void CheckLogLevels(IConfiguration configuration)
    {
        // Logging:LogLevel:CATEGORY and the providers' own Logging:PROVIDER:LogLevel:CATEGORY.
        foreach (var entry in configuration.GetSection("Logging").AsEnumerable())
        {
            if (entry.Value is not { } value || !entry.Key.Contains(":LogLevel:", StringComparison.OrdinalIgnoreCase)) continue;
            if (!Enum.TryParse<LogLevel>(value, ignoreCase: true, out _))
            {
                throw new InvalidSettingException(
                    $"{entry.Key} is '{value}', not a log level (Trace, Debug, Information, Warning, Error, Critical or None).");
            }
        }
    }
}
