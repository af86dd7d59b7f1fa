// dot.cpp — Graphviz export of the autograd graph (see dot.h).
//
// The graph points backwards (a Node knows its inputs, not its consumers), so
// the walk starts at the root's Node and follows Node::inputs, the same edges
// backward() follows. Each edge is printed reversed, input -> consumer, so the
// picture reads in the order the forward pass ran.
#include "autograd/dot.h"

#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/node.h"

namespace dl {

namespace {

// Text for inside a quoted DOT label: an unescaped quote would end the string
// and a backslash would start a DOT escape (\n, \l, ...).
std::string escape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

void op_line(std::ostream& out, size_t id, const Node& node, const char* extra) {
  out << "  n" << id << " [shape=box, label=\"" << escape(node.name) << "\\n" << shape_str(node.output_shape) << "\""
      << extra << "];\n";
}

void leaf_line(std::ostream& out, size_t id, const TensorImpl& leaf, const char* extra) {
  out << "  n" << id << " [shape=ellipse, label=\"leaf\\n" << shape_str(leaf.shape) << "\"" << extra << "];\n";
}

// Marks the Node (or leaf) that made the root, so it stands out in a big graph.
constexpr const char* root_mark = ", peripheries=2";

}  // namespace

std::string to_dot(const Tensor& root) {
  std::ostringstream out;
  out << "digraph autograd {\n";
  if (!root.grad_fn()) {
    if (root.requires_grad()) leaf_line(out, 0, root.impl(), root_mark);
    out << "}\n";
    return out.str();
  }

  // Nodes and leaves share one id space; keyed by address so that a Node or
  // leaf reached along several paths (a diamond) is listed once.
  std::unordered_map<const void*, size_t> ids;
  std::ostringstream edges;  // printed after every node, so nodes read as a list
  const Node* root_node = root.grad_fn().get();
  ids.emplace(root_node, 0);
  op_line(out, 0, *root_node, root_mark);

  // Explicit stack rather than recursion: graphs from long loops (an RNN over
  // many steps) are deep enough to overflow the call stack.
  std::vector<const Node*> stack{root_node};
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    const size_t consumer = ids.at(node);
    for (const Node::Edge& input : node->inputs) {
      if (!input.needs_grad()) continue;  // an input that does not require grad is not in the graph
      const void* key = input.node ? static_cast<const void*>(input.node.get()) : input.leaf.get();
      const auto [it, first_meeting] = ids.emplace(key, ids.size());
      const size_t id = it->second;
      if (first_meeting) {
        if (input.node) {
          op_line(out, id, *input.node, "");
          stack.push_back(input.node.get());
        } else {
          leaf_line(out, id, *input.leaf, "");
        }
      }
      edges << "  n" << id << " -> n" << consumer << ";\n";
    }
  }
  out << edges.str() << "}\n";
  return out.str();
}

}  // namespace dl
