#include "app/pasta.h"

int main(int argc, char* argv[]) { return pasta::app::Main(argc, argv); }
