import Testing
import TurnpikeModel

@Suite struct PathNormalizerTests {
    @Test(arguments: [
        ("/", "/"),
        ("/foo", "/foo"),
        ("/foo/", "/foo/"),
        ("/a/./b/../c", "/a/c"),
        ("/a//b///c", "/a/b/c"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/..", "/"),
        ("/../a", "/a"),
        ("/%41%62c", "/Abc"),
        ("/a%2fb", "/a%2Fb"),
        ("/a%2Fb", "/a%2Fb"),
        ("/%7euser", "/~user"),
        ("/a%3ab", "/a%3Ab"),
        ("/route%2E%2E/req", "/route../req"),
        ("/100%", "/100%"),
        ("/%zz", "/%zz"),
    ])
    func normalizes(input: String, expected: String) {
        #expect(PathNormalizer.normalize(input) == expected)
    }
}
