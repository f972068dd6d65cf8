namespace ConversationService.Tokenizers.Tests;

public sealed class ModelMappingTests
{
    [Theory]
    [InlineData("gpt-4o", "o200k_base")]
    [InlineData("gpt-4o-mini", "o200k_base")]
    [InlineData("gpt-4o-2024-08-06", "o200k_base")]
    [InlineData("chatgpt-4o-latest", "o200k_base")]
    [InlineData("gpt-4.1", "o200k_base")]
    [InlineData("gpt-4.1-nano", "o200k_base")]
    [InlineData("gpt-4.5-preview", "o200k_base")]
    [InlineData("gpt-5", "o200k_base")]
    [InlineData("gpt-5-mini", "o200k_base")]
    [InlineData("gpt-5.1", "o200k_base")]
    [InlineData("o1", "o200k_base")]
    [InlineData("o1-mini", "o200k_base")]
    [InlineData("o3-mini", "o200k_base")]
    [InlineData("o4-mini", "o200k_base")]
    [InlineData("o4-mini-2025-04-16", "o200k_base")]
    [InlineData("gpt-4", "cl100k_base")]
    [InlineData("gpt-4-0613", "cl100k_base")]
    [InlineData("gpt-4-32k", "cl100k_base")]
    [InlineData("gpt-4-turbo", "cl100k_base")]
    [InlineData("gpt-4-turbo-preview", "cl100k_base")]
    [InlineData("gpt-3.5-turbo", "cl100k_base")]
    [InlineData("gpt-3.5-turbo-16k", "cl100k_base")]
    [InlineData("gpt-35-turbo", "cl100k_base")]
    [InlineData("text-embedding-ada-002", "cl100k_base")]
    [InlineData("text-embedding-3-small", "cl100k_base")]
    [InlineData("text-embedding-3-large", "cl100k_base")]
    public void Given_a_known_model_When_created_Then_it_uses_the_models_encoding(string model, string encoding)
    {
        Assert.True(ExactTiktokenTokenizer.TryGetEncodingForModel(model, out var found));
        Assert.Equal(encoding, found);
        Assert.Equal(encoding, ExactTiktokenTokenizer.CreateForModel(model).EncodingName);
    }

    [Theory]
    [InlineData("llama-3-70b")]
    [InlineData("o10")]
    [InlineData("gpt-4.2")]
    [InlineData("text-embedding-3")]
    [InlineData("")]
    public void Given_an_unknown_model_When_created_Then_the_error_lists_the_supported_families(string model)
    {
        Assert.False(ExactTiktokenTokenizer.TryGetEncodingForModel(model, out _));

        var error = Assert.Throws<NotSupportedException>(() => ExactTiktokenTokenizer.CreateForModel(model));

        Assert.Contains("gpt-4o", error.Message, StringComparison.Ordinal);
        Assert.Contains("gpt-3.5-turbo", error.Message, StringComparison.Ordinal);
        Assert.Contains(ExactTiktokenTokenizer.SupportedModelsDescription, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_models_of_one_encoding_When_created_Then_they_share_one_instance()
    {
        Assert.Same(ExactTiktokenTokenizer.CreateForModel("gpt-4o"), ExactTiktokenTokenizer.CreateForModel("o3"));
        Assert.Same(ExactTiktokenTokenizer.CreateForEncoding("cl100k_base"), ExactTiktokenTokenizer.CreateForModel("gpt-4"));
    }

    [Fact]
    public void Given_an_unknown_encoding_When_created_Then_it_is_rejected()
    {
        Assert.Throws<NotSupportedException>(() => ExactTiktokenTokenizer.CreateForEncoding("p50k_base"));
    }
}
