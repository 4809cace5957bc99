
namespace Ferry.Configuration;

/// <summary>Builds the layered configuration the options bind from.</summary>
public static class FerryConfiguration
{
    public const string EnvironmentPrefix = "FERRY_";

    /// <summary>
    /// Layers, later ones winning: the JSON file (if given), <c>FERRY_</c> environment variables, then the
    /// command-line flags that were actually given (a flag left out does not override the file or the
    /// environment).
    /// </summary>
    public static void AddFerrySources(this IConfigurationBuilder builder, string? configFile,
        IReadOnlyDictionary<string, string?> flags)
    {
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new InvalidSettingException($"--config: the file '{configFile}' does not exist.");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddInMemoryCollection(flags);
    }
}
