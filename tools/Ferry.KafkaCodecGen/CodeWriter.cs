using System.Text;

namespace Ferry.KafkaCodecGen;

/// <summary>Indented C# text with LF line ends, so the output is the same on every machine.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public void Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _indent * 4).Append(line);
        }
        _text.Append('\n');
    }

    public void Open(string line)
    {
        Line(line);
        Line("{");
        _indent++;
    }

    /// <summary>Opens a bare block.</summary>
    public void Open()
    {
        Line("{");
        _indent++;
    }

    /// <summary>Opens a collection expression; close it with <c>Close("];")</c>.</summary>
    public void OpenList()
    {
        Line("[");
        _indent++;
    }

    public void Close(string closing = "}")
    {
        _indent--;
        Line(closing);
    }

    /// <summary>Emits <paramref name="body"/> under <c>if (condition)</c>, or bare when the condition is null.</summary>
    public void If(string? condition, Action body)
    {
        if (condition is null)
        {
            body();
            return;
        }
        Open($"if ({condition})");
        body();
        Close();
    }

    public void IfElse(string condition, Action then, Action otherwise)
    {
        Open($"if ({condition})");
        then();
        Close();
        Open("else");
        otherwise();
        Close();
    }

    public override string ToString() => _text.ToString();
}
