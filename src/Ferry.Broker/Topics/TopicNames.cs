namespace Ferry.Broker.Topics;

/// <summary>Kafka's rules for topic names: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..".</summary>
public static class TopicNames
{
    public const int MaxLength = 249;

    public static bool IsValid(string? name, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(name)) error = "Topic name is empty.";
        else if (name is "." or "..") error = $"Topic name cannot be '{name}'.";
        else if (name.Length > MaxLength) error = $"Topic name is longer than {MaxLength} characters.";
        else if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            error = $"Topic name '{name}' is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed.";
        return error is null;
    }
}
