namespace Ferry.Broker.Exchanges;

/// <summary>
/// Topic matching through a trie of binding-key words, built once per binding change and read lock-free by
/// every publish. <c>*</c> matches exactly one word, <c>#</c> zero or more. A routing key is split into
/// word ranges on the stack and looked up with span keys, so a match allocates nothing.
/// </summary>
internal sealed class TopicTrie
{
    private readonly Node _root = new();

    public void Add(string bindingKey, IBindingDestination destination)
    {
        var node = _root;
        foreach (var range in bindingKey.AsSpan().Split('.'))
        {
            string word = bindingKey[range];
            node = word switch
            {
                "*" => node.Star ??= new Node(),
                "#" => node.Hash ??= new Node(),
                _ => node.GetOrAddChild(word),
            };
        }

        node.Destinations.Add(destination);
    }

    public void Match(string routingKey, List<IBindingDestination> result)
    {
        // A routing key is a shortstr (at most 255 bytes), so at most 128 words.
        Span<Range> words = stackalloc Range[256];
        int count = routingKey.AsSpan().Split(words, '.');
        Match(_root, routingKey, words[..count], 0, result);
    }

    private static void Match(Node node, string key, ReadOnlySpan<Range> words, int index, List<IBindingDestination> result)
    {
        if (node.Hash is { } hash)
        {
            // '#' swallows zero or more words: try every split point.
            for (int i = index; i <= words.Length; i++) Match(hash, key, words, i, result);
        }

        if (index == words.Length)
        {
            foreach (var destination in node.Destinations)
            {
                if (!result.Contains(destination)) result.Add(destination);
            }

            return;
        }

        if (node.Children is { } children
            && children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key.AsSpan()[words[index]], out var child))
        {
            Match(child, key, words, index + 1, result);
        }

        if (node.Star is { } star) Match(star, key, words, index + 1, result);
    }

    private sealed class Node
    {
        public Dictionary<string, Node>? Children;
        public Node? Star;
        public Node? Hash;
        public readonly List<IBindingDestination> Destinations = [];

        public Node GetOrAddChild(string word)
        {
            Children ??= new Dictionary<string, Node>(StringComparer.Ordinal);
            if (!Children.TryGetValue(word, out var child)) Children[word] = child = new Node();
            return child;
        }
    }
}
